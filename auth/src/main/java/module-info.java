/**
 * A caching authenticator that absorbs reconnect storms and fails safe, and an HTTP backend for it.
 * See {@link dev.shepherd.auth}.
 */
module dev.shepherd.auth {
  requires transitive dev.shepherd.core;
  // HttpAuthenticator.Builder takes a java.net.http.HttpClient.
  requires transitive java.net.http;
  // Caffeine holds the cache but appears in no public signature: users need not read it.
  requires com.github.benmanes.caffeine;

  exports dev.shepherd.auth;
}
