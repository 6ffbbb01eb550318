/**
 * A seeded discrete-event simulator of reconnect storms, and a proving ground for your own reconnect
 * code. Library modules never depend on it.
 *
 * <p><b>The replay</b> ({@link dev.shepherd.storm.Simulation}, {@link dev.shepherd.storm.Strategies},
 * {@link dev.shepherd.storm.StormReport}): a fleet of hubs drops at t = 0 and reconnects through a
 * load balancer to connect servers in front of a queueing database; each row of the table is a real
 * configuration of the library's classes on the simulated clock.
 *
 * <p><b>The proving ground</b> ({@link dev.shepherd.storm.Scenario}): describe your
 * {@link dev.shepherd.storm.Fleet} (your {@code Backoff} or {@code Reconnector}), a
 * {@link dev.shepherd.storm.ServerTier} and a {@link dev.shepherd.storm.Trigger}, run it, and assert
 * on the {@link dev.shepherd.storm.Outcome}, whose {@link dev.shepherd.storm.Outcome#recovers()}
 * defines recovery once. {@link dev.shepherd.storm.Archetype} holds the four metastable-failure
 * archetypes of Huang et al. (OSDI 2022) as ready scenarios.
 *
 * <p>Strategies see time through a {@code ManualClock} (module {@code dev.shepherd.testing}), which the
 * simulation advances from event to event: that is why this module requires it transitively.
 */
package dev.shepherd.storm;
