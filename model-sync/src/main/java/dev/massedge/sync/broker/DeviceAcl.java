package dev.massedge.sync.broker;

import dev.massedge.sync.contract.Topics;
import java.util.List;

/**
 * Who may publish and subscribe where: the one rule table behind the embedded broker's authorizer
 * and the Mosquitto ACL file it renders ({@link #mosquittoAcl}), so both brokers enforce the same.
 *
 * <p>An administrator (the bridge) may do anything. A device may use only its own tree, and there
 * only the topics its side of the protocol needs (docs/protocol.md): it publishes its status,
 * reported twin, telemetry, events, command responses, chunk requests and inference replies; it
 * subscribes to its desired twin, telemetry acks, commands, chunk responses and inference requests.
 * So device A can neither read nor write device B's topics, cannot set its own desired twin, and
 * cannot call another device's models. A filter with {@code #}, a shared subscription or a {@code
 * +} where the device id goes is refused.
 */
public final class DeviceAcl {
  private DeviceAcl() {}

  /** The topics below {@code mass/v1/<device>/} a device publishes. */
  public static final List<String> DEVICE_PUBLISHES =
      List.of(
          "status",
          "twin/reported",
          "telemetry",
          "events",
          "commands/+/response",
          "chunks/request",
          "infer-reply/+");

  /** The topic filters below {@code mass/v1/<device>/} a device subscribes to. */
  public static final List<String> DEVICE_SUBSCRIBES =
      List.of("twin/desired", "telemetry/ack", "commands/+", "chunks/response", "infer/+");

  /** May {@code device} publish on {@code topic}? */
  public static boolean mayPublish(String device, String topic) {
    if (!validDevice(device) || topic == null || topic.contains("+") || topic.contains("#")) {
      return false;
    }
    String own = Topics.PREFIX + "/" + device + "/";
    if (!topic.startsWith(own)) {
      return false;
    }
    String rest = topic.substring(own.length());
    return DEVICE_PUBLISHES.stream().anyMatch(rule -> covers(rule, rest));
  }

  /** May {@code device} subscribe to {@code filter} (wildcards taken as what they match)? */
  public static boolean maySubscribe(String device, String filter) {
    if (!validDevice(device) || filter == null || filter.startsWith("$share/")) {
      return false;
    }
    String own = Topics.PREFIX + "/" + device + "/";
    if (!filter.startsWith(own) || filter.contains("#")) {
      return false;
    }
    String rest = filter.substring(own.length());
    return DEVICE_SUBSCRIBES.stream().anyMatch(rule -> covers(rule, rest));
  }

  private static boolean validDevice(String device) {
    return device != null && Topics.DEVICE_ID.matcher(device).matches();
  }

  /**
   * Does the rule (levels, {@code +} for any one) cover the topic or filter {@code rest}? A {@code
   * +} in {@code rest} is covered only by a {@code +} in the rule.
   */
  static boolean covers(String rule, String rest) {
    String[] r = rule.split("/", -1);
    String[] t = rest.split("/", -1);
    if (r.length != t.length) {
      return false;
    }
    for (int i = 0; i < r.length; i++) {
      if (t[i].isEmpty() || !(r[i].equals("+") || r[i].equals(t[i]))) {
        return false;
      }
    }
    return true;
  }

  /**
   * The same rules as a Mosquitto {@code acl_file}: {@code admins} may do anything, every other
   * user is a device whose user name is its id ({@code %u}).
   */
  public static String mosquittoAcl(List<String> admins) {
    StringBuilder b =
        new StringBuilder(
            "# Mass Edge broker ACL (generated: ./mass broker acl). Devices log in with their"
                + " device id\n# as user name and may use only their own topics; see"
                + " docs/security.md.\n");
    for (String a : admins) {
      b.append("\nuser ").append(a).append("\ntopic readwrite mass/v1/#\n");
    }
    b.append("\n# every device: its own tree, its side of the protocol only\n");
    for (String t : DEVICE_PUBLISHES) {
      b.append("pattern write ").append(Topics.PREFIX).append("/%u/").append(t).append('\n');
    }
    for (String t : DEVICE_SUBSCRIBES) {
      b.append("pattern read ").append(Topics.PREFIX).append("/%u/").append(t).append('\n');
    }
    return b.toString();
  }
}
