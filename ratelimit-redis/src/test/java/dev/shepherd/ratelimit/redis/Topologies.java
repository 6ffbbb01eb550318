package dev.shepherd.ratelimit.redis;

import dev.shepherd.testing.RedisCluster;
import dev.shepherd.testing.RedisSentinel;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.masterreplica.MasterReplica;
import io.lettuce.core.masterreplica.StatefulRedisMasterReplicaConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Lettuce clients on a test's {@link RedisCluster} or {@link RedisSentinel}, each client standing
 * for one server of a fleet, shut down together. Clients reconnect every 20 ms; cluster clients
 * refresh their topology on every adaptive trigger (MOVED, ASK, reconnects) and every second, as
 * a production cluster client should.
 */
final class Topologies implements AutoCloseable {

  static {
    // Quiet Lettuce's and Netty's reconnect chatter, as Redis does for the standalone tests.
    java.util.logging.Logger.getLogger("io.lettuce").setLevel(java.util.logging.Level.SEVERE);
    java.util.logging.Logger.getLogger("io.netty").setLevel(java.util.logging.Level.OFF);
  }

  private final ClientResources resources = DefaultClientResources.builder()
      .ioThreadPoolSize(2)
      .computationThreadPoolSize(2)
      .reconnectDelay(Delay.constant(Duration.ofMillis(20)))
      .build();
  private final List<RedisClusterClient> clusterClients = new ArrayList<>();
  private final List<RedisClient> clients = new ArrayList<>();

  /** A new cluster client (one "server") seeded with every node, and a connection on it. */
  StatefulRedisClusterConnection<String, String> connect(RedisCluster cluster) {
    List<RedisURI> seeds = new ArrayList<>();
    for (String uri : cluster.uris()) {
      RedisURI u = RedisURI.create(uri);
      u.setTimeout(Duration.ofSeconds(10));
      seeds.add(u);
    }
    RedisClusterClient client = RedisClusterClient.create(resources, seeds);
    client.setOptions(ClusterClientOptions.builder()
        .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
            .enableAllAdaptiveRefreshTriggers()
            .adaptiveRefreshTriggersTimeout(Duration.ofMillis(100))
            .enablePeriodicRefresh(Duration.ofSeconds(1))
            .build())
        .build());
    clusterClients.add(client);
    return client.connect();
  }

  /** A new client (one "server") and a master–replica connection found through the Sentinel. */
  StatefulRedisMasterReplicaConnection<String, String> connect(RedisSentinel sentinel) {
    RedisURI uri = RedisURI.create(sentinel.sentinelUri());
    uri.setTimeout(Duration.ofSeconds(10));
    RedisClient client = RedisClient.create(resources);
    client.setOptions(ClientOptions.builder().autoReconnect(true).build());
    clients.add(client);
    return MasterReplica.connect(client, StringCodec.UTF8, uri);
  }

  @Override
  public void close() {
    for (RedisClusterClient c : clusterClients) {
      c.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    for (RedisClient c : clients) {
      c.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    resources.shutdown(0, 2, TimeUnit.SECONDS);
  }
}
