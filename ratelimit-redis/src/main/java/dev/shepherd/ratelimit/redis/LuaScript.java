package dev.shepherd.ratelimit.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A Lua script and its SHA-1, as {@code SCRIPT LOAD} returns it. Immutable. */
final class LuaScript {

  final String source;
  final String sha;

  LuaScript(String source) {
    this.source = source;
    this.sha = sha1Hex(source);
  }

  static String sha1Hex(String text) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
      StringBuilder hex = new StringBuilder(40);
      for (byte b : digest) {
        hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
      }
      return hex.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new ExceptionInInitializerError(e); // every JRE has SHA-1
    }
  }
}
