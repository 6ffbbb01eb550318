package dev.shepherd.ratelimit.redis;

import java.util.List;

/*
 * The GCRA check as one Lua script, and why it is exact, atomic and safe.
 *
 * State. One Redis string per bucket, "A:f:s": the theoretical arrival time TAT (the instant the
 * bucket would be full again) is A microseconds of Redis time plus f units of 1/s microsecond,
 * 0 <= f < s. Redis runs a script atomically, so read-decide-write on the key is one indivisible
 * step: 200 concurrent callers on one key are decided one after another, as by one local bucket.
 *
 * Time. The script reads Redis's own clock with TIME (seconds and microseconds), so every server
 * in a fleet is judged by one clock and their skew does not matter. Redis 5 and later replicate
 * scripts by their effects (the SET below, with the value already computed), so a non-deterministic
 * TIME in a script that writes is allowed and replicas get the same state; on 3.2 to 4.x the
 * redis.replicate_commands() call switches that mode on (on 7 it is a no-op). The time is
 * now = sec * 10^6 + usec, about 2^50.6 today: below 2^53, the largest integer a Lua number (an
 * IEEE double) holds exactly, until the year 2255.
 *
 * Exact integers. Every other quantity is a debt d = TAT - now in units, an integer between 0 and
 * MAX_DEBT = 2^52 (see RedisRate: tau <= 2^50 and a granted reservation's wait is bounded so
 * wait * s + tau <= 2^52 - tau). Sums of two such values stay below 2^53, so additions,
 * subtractions and the products (A - now) * s (at most d) are exact. Division is the only
 * inexact double operation; fdiv repairs math.floor(x / y) with one exact remainder, so quotients
 * and remainders are exact too. Numbers are written back with string.format('%d'), which prints
 * the integer, not a 14-digit %g.
 *
 * Decision (GCRA, as the local Gcra): a request of n permits costs n * interval units; with
 * excess = d + cost - tau it is granted now iff excess <= 0. Otherwise the wait is
 * ceil(excess / s) microseconds: the first microsecond tick of Redis time at which the same
 * request would be granted. A request that accepts waiting up to maxwait microseconds is granted
 * as the same request arriving at now + wait: TAT' = max(TAT, now + wait) + cost (debt
 * max(d, wait * s) + cost), exactly the local bucket's reservation. A refusal writes nothing.
 *
 * Expiry. The key is written with PX = floor(d' / (1000 s)) + 1 ms, at least the time until the
 * bucket is full again: when Redis drops it, the bucket it stood for was full, and a missing key
 * reads as full. So idle keys vanish and memory holds only buckets in use.
 *
 * Robustness. A state written with another scale (a limiter sharing the key with a different
 * rate, say during a rolling deploy) is rounded up to the next whole microsecond: never fewer
 * permits owed. A value that is not "A:f:s" with at most 16 digits per field is refused with an
 * error reply (which does not echo the key: keys may identify devices), never read as full.
 * Every reply is {granted, wait, now}, checked strictly by decode(): anything else is an error,
 * never a grant.
 */
/** The Lua script, its SHA-1 and the strict decoding of its reply. Stateless. */
final class GcraScript {

  /*
   * The Lua every script on a GCRA state shares, written once; the scripts are concatenated from
   * these fragments, each a whole number of lines.
   */

  /** Effects replication, and {@code fdiv(x, y)}: floor division with its remainder, exact. */
  static final String PRELUDE = """
      if redis.replicate_commands then redis.replicate_commands() end
      local function fdiv(x, y)
        local q = math.floor(x / y)
        local r = x - q * y
        if r < 0 then q = q - 1; r = r + y elseif r >= y then q = q + 1; r = r - y end
        return q, r
      end
      """;

  /**
   * Reads Redis's clock as {@code now} (µs) and the key's state as {@code debt} (units; needs
   * {@code scale}), or returns an error reply for a state that is not "A:f:s".
   */
  static final String READ_DEBT = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local debt = 0
      local state = redis.call('GET', KEYS[1])
      if state then
        local a, f, s = string.match(state, '^(%d+):(%d+):(%d+)$')
        if not a or #a > 16 or #f > 16 or #s > 16 or tonumber(f) >= tonumber(s) then
          return redis.error_reply('SHEPHERD malformed rate-limit state (expected A:f:s)')
        end
        a = tonumber(a)
        f = tonumber(f)
        if tonumber(s) ~= scale and f > 0 then a = a + 1; f = 0 end
        if a >= now then debt = (a - now) * scale + f end
      end
      """;

  /** Writes {@code newdebt} (units) as the key's state, with a TTL of when it is paid off. */
  static final String WRITE_DEBT = """
      local q, r = fdiv(newdebt, scale)
      local ttl = fdiv(newdebt, scale * 1000) + 1
      redis.call('SET', KEYS[1], string.format('%d:%d:%d', now + q, r, scale), 'PX', string.format('%d', ttl))
      """;

  /** The script. KEYS[1]: the bucket; ARGV: interval, scale, tau (units), permits, max wait (µs). */
  static final String SOURCE = """
      -- Shepherd GCRA v1 (dev.shepherd.ratelimit.redis): one atomic rate-limit check.
      -- KEYS[1] bucket; ARGV interval, scale (units per us), tau (units), permits, max wait (us).
      -- Reply {granted 0|1, wait (us), Redis time (us)}.
      """ + PRELUDE + """
      local interval = tonumber(ARGV[1])
      local scale = tonumber(ARGV[2])
      local tau = tonumber(ARGV[3])
      local cost = tonumber(ARGV[4]) * interval
      local maxwait = tonumber(ARGV[5])
      """ + READ_DEBT + """
      local excess = debt + cost - tau
      local wait = 0
      if excess > 0 then
        local q, r = fdiv(excess, scale)
        if r > 0 then q = q + 1 end
        wait = q
      end
      if wait > maxwait then return {0, wait, now} end
      local start = debt
      if wait * scale > start then start = wait * scale end
      local newdebt = start + cost
      """ + WRITE_DEBT + """
      return {1, wait, now}
      """;

  /** The script with its SHA-1. */
  static final LuaScript SCRIPT = new LuaScript(SOURCE);

  /** The script's SHA-1 in lowercase hex, as {@code SCRIPT LOAD} returns it. */
  static final String SHA = SCRIPT.sha;

  /** The largest wait a valid reply can carry, in microseconds: MAX_DEBT + tau, with room. */
  static final long MAX_WAIT_MICROS = 1L << 53;

  private GcraScript() {}

  /**
   * Decodes a reply to a check that accepted waits of up to {@code maxWaitMicros}: returns the
   * granted wait in microseconds (zero or more), or minus the retry-after in microseconds (at most
   * -1) for a refusal.
   *
   * @throws IllegalStateException naming the reply if it is not {@code {0|1, wait, now}} with a
   *     wait consistent with the flag: such a reply is an error, never a grant
   */
  static long decode(Object reply, long maxWaitMicros) {
    if (reply instanceof List<?> list
        && list.size() == 3
        && list.get(0) instanceof Long flag
        && list.get(1) instanceof Long wait
        && list.get(2) instanceof Long now
        && now > 0) {
      if (flag == 1 && wait >= 0 && wait <= maxWaitMicros) {
        return wait;
      }
      if (flag == 0 && wait > maxWaitMicros && wait >= 1 && wait <= MAX_WAIT_MICROS) {
        return -wait;
      }
    }
    throw badReply(reply);
  }

  /** Returns the Redis time (µs) of a reply that {@link #decode} accepted. */
  static long redisMicros(Object reply) {
    return (Long) ((List<?>) reply).get(2);
  }

  static IllegalStateException badReply(Object reply) {
    String text = String.valueOf(reply);
    if (text.length() > 200) {
      text = text.substring(0, 200) + "...";
    }
    return new IllegalStateException(
        "unexpected reply from the Shepherd GCRA script (expected [0|1, wait, now]): " + text);
  }

}
