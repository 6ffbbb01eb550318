/**
 * Plumbing the Redis slot admission shares with {@code dev.shepherd.ratelimit}: minting and
 * checking slot tickets. Not API; exported only to {@code dev.shepherd.ratelimit.redis}.
 */
package dev.shepherd.ratelimit.internal;
