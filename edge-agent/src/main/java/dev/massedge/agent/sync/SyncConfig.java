package dev.massedge.agent.sync;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import java.time.Duration;
import java.util.List;

/**
 * Model sync with the cloud bridge ({@code mass.sync.*}); on when {@code url} names a broker.
 *
 * @param url the MQTT 5 broker, e.g. {@code tcp://bridge:1883}
 * @param httpUrl fetch packages over HTTP range requests from this base instead of MQTT
 * @param username broker user name, when the broker wants one
 * @param password broker password (never logged)
 * @param storeDir the versioned model store
 * @param trustedKeys publisher public keys (base64 X.509) whose signatures are accepted
 * @param revokedKeys key ids whose signatures refuse a package
 * @param quotaBytes the store's disk quota
 * @param keep versions kept per model (at least 2: the active one and its fallback)
 * @param bandwidth bytes per second a delivery may use; 0 for no limit
 * @param healthWindow how long a new version is watched before it is committed
 * @param maxErrorRate the share of failed inferences in the window that rolls it back
 * @param latencyFactor rolled back when its median latency exceeds the previous one's times this
 * @param smokeMaxLatency the sample input's latency bound
 * @param outboxDir the telemetry outbox
 * @param outboxQuotaBytes the outbox's disk quota (oldest dropped and counted beyond it)
 * @param fsyncEvery outbox durability: force every n-th record to disk (1: every record)
 * @param telemetryInterval how often metrics are batched into the outbox
 * @param tegrastats NVIDIA Jetson's {@code tegrastats} (on the PATH, in /usr/bin, or a path): when
 *     present its GPU load, per-core CPU, RAM, temperatures and power rails join the metrics;
 *     {@code off} not to look for it
 * @param tlsCa the fleet CA's certificate (PEM): with an {@code ssl://} url, the broker must show a
 *     certificate it signed
 * @param tlsCert this device's certificate (PEM, common name = the device id), from {@code ./mass
 *     ca device}
 * @param tlsKey this device's private key (PKCS#8 PEM)
 * @param modelKeyFile this device's model key (32 bytes, raw or base64): delivered models are kept
 *     encrypted at rest (AES-256-GCM) and decrypted in memory only
 */
@ConfigurationProperties("mass.sync")
public record SyncConfig(
    @Nullable String url,
    @Nullable String httpUrl,
    @Nullable String username,
    @Nullable String password,
    @Bindable(defaultValue = "data/store") String storeDir,
    @Nullable List<String> trustedKeys,
    @Nullable List<String> revokedKeys,
    @Bindable(defaultValue = "1073741824") long quotaBytes,
    @Bindable(defaultValue = "3") int keep,
    @Bindable(defaultValue = "0") long bandwidth,
    @Bindable(defaultValue = "30s") Duration healthWindow,
    @Bindable(defaultValue = "0.05") double maxErrorRate,
    @Bindable(defaultValue = "3.0") double latencyFactor,
    @Bindable(defaultValue = "2s") Duration smokeMaxLatency,
    @Bindable(defaultValue = "data/outbox") String outboxDir,
    @Bindable(defaultValue = "67108864") long outboxQuotaBytes,
    @Bindable(defaultValue = "1") int fsyncEvery,
    @Bindable(defaultValue = "10s") Duration telemetryInterval,
    @Bindable(defaultValue = "tegrastats") String tegrastats,
    @Nullable String tlsCa,
    @Nullable String tlsCert,
    @Nullable String tlsKey,
    @Nullable String modelKeyFile) {

  @Override
  public String toString() {
    return "SyncConfig[url="
        + url
        + ", storeDir="
        + storeDir
        + ", password="
        + (password == null ? "none" : "***")
        + "]";
  }
}
