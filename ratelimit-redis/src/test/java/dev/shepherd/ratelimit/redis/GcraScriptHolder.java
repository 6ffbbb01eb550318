package dev.shepherd.ratelimit.redis;

/** The GCRA script as a {@link LuaScript}, for tests written before GcraScript offers one. */
final class GcraScriptHolder {
  static final LuaScript SCRIPT = new LuaScript(GcraScript.SOURCE);

  private GcraScriptHolder() {}
}
