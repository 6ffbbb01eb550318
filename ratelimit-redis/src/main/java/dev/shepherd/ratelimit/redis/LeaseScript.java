package dev.shepherd.ratelimit.redis;

import java.util.List;

/*
 * The lease: GCRA's check, taking "as many as are there, up to want, if at least need" in one
 * atomic step, on the same state as GcraScript ("A:f:s", see its note), so leased and direct
 * checks on one key draw from one bucket and every argument about exactness there holds here.
 *
 * With debt d (units) and tolerance tau, the bucket holds floor((tau - d) / interval) whole
 * permits now (the permits a GCRA check of n <= that would grant). The script takes
 * m = min(want, that) if m >= need, and writes the debt d + m * interval exactly as GcraScript
 * writes d + cost, TTL included; otherwise it writes nothing and replies with the wait until
 * need permits would be there, ceil((d + need * interval - tau) / scale) microseconds, exactly
 * GcraScript's retry-after for a request of need permits. Reply {m, wait, now}: m > 0 with
 * wait 0, or m = 0 with wait >= 1. tau - d <= 2^50 and m * interval <= tau: every quantity an
 * exact integer below 2^53.
 */
/** The lease script and the strict decoding of its reply. Stateless. */
final class LeaseScript {

  static final LuaScript SCRIPT = new LuaScript("""
      -- Shepherd GCRA lease v1 (dev.shepherd.ratelimit.redis): take up to want permits, at least need.
      -- KEYS[1] bucket; ARGV interval, scale (units per us), tau (units), need, want.
      -- Reply {taken (0 if refused), wait (us) until need would be there, Redis time (us)}.
      """ + GcraScript.PRELUDE + """
      local interval = tonumber(ARGV[1])
      local scale = tonumber(ARGV[2])
      local tau = tonumber(ARGV[3])
      local need = tonumber(ARGV[4])
      local want = tonumber(ARGV[5])
      """ + GcraScript.READ_DEBT + """
      local there = 0
      if tau > debt then there = fdiv(tau - debt, interval) end
      local taken = there
      if taken > want then taken = want end
      if taken < need then
        local q, r = fdiv(debt + need * interval - tau, scale)
        if r > 0 then q = q + 1 end
        return {0, q, now}
      end
      local newdebt = debt + taken * interval
      """ + GcraScript.WRITE_DEBT + """
      return {taken, 0, now}
      """);

  private LeaseScript() {}

  /**
   * Decodes a reply to a lease of at least {@code need} and at most {@code want} permits: the
   * permits taken ({@code need <= m <= want}), or minus the retry-after in microseconds for a
   * refusal.
   *
   * @throws IllegalStateException naming the reply if it is anything else: never a grant
   */
  static long decode(Object reply, int need, int want) {
    if (reply instanceof List<?> list
        && list.size() == 3
        && list.get(0) instanceof Long taken
        && list.get(1) instanceof Long wait
        && list.get(2) instanceof Long now
        && now > 0) {
      if (taken >= need && taken <= want && wait == 0) {
        return taken;
      }
      if (taken == 0 && wait >= 1 && wait <= GcraScript.MAX_WAIT_MICROS) {
        return -wait;
      }
    }
    String text = String.valueOf(reply);
    if (text.length() > 200) {
      text = text.substring(0, 200) + "...";
    }
    throw new IllegalStateException(
        "unexpected reply from the Shepherd lease script (expected [taken, wait, now]): " + text);
  }
}
