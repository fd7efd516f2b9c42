package dev.massedge.bridge;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import java.time.Duration;
import java.util.List;

/**
 * The bridge's settings ({@code mass.bridge.*}). With none set it runs on its embedded defaults:
 * its own MQTT 5 broker, an H2 file database and an artifact directory under {@code dataDir}.
 *
 * @param dataDir the bridge's own files: the H2 database, artifacts, the fleet key, tokens
 * @param mqttUrl an external broker (Mosquitto, a cluster); unset: start the embedded broker
 * @param dbUrl a JDBC URL (PostgreSQL in production); unset: an H2 file database in dataDir
 * @param mqttPort the embedded broker's port
 * @param mqttBind the embedded broker's bind address
 * @param mqttUsername user name at an external broker
 * @param mqttPassword password at an external broker (never logged)
 * @param instanceId this instance's name in leases and MQTT client ids (default: host + pid)
 * @param chunkThreads threads answering chunk requests
 * @param telemetryRetention how long metrics and events are kept
 * @param rolloutTick how often rollouts are driven
 * @param leaseTtl how long the rollout lease lasts without renewal (another instance takes over)
 * @param adminTokens API tokens with the admin role (unset: one is made and kept in dataDir)
 * @param viewerTokens API tokens with the viewer role (read only)
 * @param mqttAcl the embedded broker holds each device to its own topics (docs/security.md)
 * @param mqttPasswords the embedded broker's device passwords (a mosquitto_passwd file); unset:
 *     device names are taken as claimed
 * @param mqttTlsPort the embedded broker's TLS listener (0: none): client certificates from the CA
 *     in {@code mqttTlsDir} required, their common name the device id
 * @param mqttTlsDir the fleet CA's folder ({@code ./mass ca init}): {@code ca.pem}, {@code
 *     crl.pem}, and the broker's {@code server.pem}/{@code server.key} ({@code ./mass ca server})
 * @param mqttTlsCa at an external broker over {@code ssl://}: the CA that signed its certificate
 * @param mqttTlsCert at an external broker: the bridge's client certificate (common name {@code
 *     mass-bridge})
 * @param mqttTlsKey at an external broker: the bridge's private key
 */
@ConfigurationProperties("mass.bridge")
public record BridgeConfig(
    @Bindable(defaultValue = "data/bridge") String dataDir,
    @Nullable String mqttUrl,
    @Nullable String dbUrl,
    @Bindable(defaultValue = "1883") int mqttPort,
    @Bindable(defaultValue = "0.0.0.0") String mqttBind,
    @Nullable String mqttUsername,
    @Nullable String mqttPassword,
    @Nullable String instanceId,
    @Bindable(defaultValue = "4") int chunkThreads,
    @Bindable(defaultValue = "7d") Duration telemetryRetention,
    @Bindable(defaultValue = "1s") Duration rolloutTick,
    @Bindable(defaultValue = "15s") Duration leaseTtl,
    @Nullable List<String> adminTokens,
    @Nullable List<String> viewerTokens,
    @Bindable(defaultValue = "true") boolean mqttAcl,
    @Nullable String mqttPasswords,
    @Bindable(defaultValue = "0") int mqttTlsPort,
    @Nullable String mqttTlsDir,
    @Nullable String mqttTlsCa,
    @Nullable String mqttTlsCert,
    @Nullable String mqttTlsKey) {

  /** This instance's name: configured, or host name + process id. */
  public String instance() {
    if (instanceId != null && !instanceId.isBlank()) {
      return instanceId;
    }
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "bridge";
    }
    return host.replaceAll("[^A-Za-z0-9_-]", "-") + "-" + ProcessHandle.current().pid();
  }

  /** The JDBC URL: configured, or the embedded H2 file database in PostgreSQL mode. */
  public String jdbcUrl() {
    if (dbUrl != null && !dbUrl.isBlank()) {
      return dbUrl;
    }
    return "jdbc:h2:file:"
        + java.nio.file.Path.of(dataDir).toAbsolutePath().resolve("db/bridge")
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_ON_EXIT=FALSE";
  }

  @Override
  public String toString() {
    return "BridgeConfig[dataDir="
        + dataDir
        + ", mqttUrl="
        + (mqttUrl == null ? "embedded:" + mqttPort : mqttUrl)
        + ", mqttPassword="
        + (mqttPassword == null ? "none" : "***")
        + ", adminTokens="
        + (adminTokens == null ? 0 : adminTokens.size())
        + ", viewerTokens="
        + (viewerTokens == null ? 0 : viewerTokens.size())
        + "]";
  }
}
