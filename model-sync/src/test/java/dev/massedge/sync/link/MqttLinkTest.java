package dev.massedge.sync.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.massedge.sync.testing.Broker;
import dev.massedge.sync.testing.TcpProxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The link across faults: after a broker restart it comes back and publishing on a known topic
 * still works; a path that never answers is given up; open publishes fail when the link drops.
 */
class MqttLinkTest {
  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void afterABrokerRestartPublishesOnTheSameTopicsStillArrive(String name) throws Exception {
    try (Broker broker = Broker.of(name)) {
      List<String> got = new CopyOnWriteArrayList<>();
      List<String> errors = new CopyOnWriteArrayList<>();
      MqttLink sub =
          new MqttLink(new MqttLink.Options(broker.url(), "sub-" + name).persistent()).start();
      sub.subscribe("t/#", 1, (t, m) -> got.add(new String(m.getPayload())));
      MqttLink pub = new MqttLink(new MqttLink.Options(broker.url(), "pub-" + name)).start();
      await().atMost(Duration.ofSeconds(20)).until(() -> sub.connected() && pub.connected());
      Thread.sleep(300);
      for (int i = 0; i < 20; i++) {
        // the same topics again and again: Paho assigns them topic aliases where the broker allows
        pub.publish("t/" + (i % 3), ("a" + i).getBytes(), 1, false).get(5, TimeUnit.SECONDS);
      }
      broker.stop();
      broker.start();
      await().atMost(Duration.ofSeconds(40)).until(() -> sub.connected() && pub.connected());
      for (int i = 0; i < 20; i++) {
        try {
          pub.publish("t/" + (i % 3), ("b" + i).getBytes(), 1, false).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
          errors.add(e.toString());
          await().atMost(Duration.ofSeconds(40)).until(pub::connected);
          i--;
          if (errors.size() > 5) {
            break;
          }
        }
      }
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> got.stream().filter(s -> s.startsWith("b")).count() >= 20);
      assertThat(errors).as("publishes refused after the restart").isEmpty();
      assertThat(pub.lastError()).doesNotContain("alias");
      pub.close();
      sub.close();
    }
  }

  @Test
  void aPathThatAcceptsAndNeverAnswersIsGivenUpAndTheLinkComesBack() throws Exception {
    try (Broker broker = Broker.mosquitto();
        TcpProxy proxy = new TcpProxy(broker.port())) {
      proxy.blackhole(true); // the connection is accepted, the CONNECT never answered
      MqttLink link = new MqttLink(new MqttLink.Options(proxy.url(), "hole").persistent()).start();
      Thread.sleep(2000);
      assertThat(link.connected()).isFalse();
      proxy.blackhole(false);
      // Paho alone would wait for the CONNACK for ever; the watchdog starts a fresh attempt. The
      // abandoned client's own disconnect thread may die of an NPE inside Paho 1.2.5 (it clears a
      // queue the close already dropped): harmless to the link, which has a new client, so that
      // thread's exception is not this test's failure
      await()
          .dontCatchUncaughtExceptions()
          .atMost(Duration.ofSeconds(MqttLink.CONNECT_WATCHDOG_S + 20))
          .until(link::connected);
      assertThat(link.lastError()).isEmpty();

      // a publish waiting for its acknowledgement when the link drops fails at once (the
      // outbox sender resends it on the next connection instead of waiting out its timeout)
      proxy.latency(Duration.ofSeconds(30), Duration.ZERO);
      CompletableFuture<Void> open = link.publish("t/x", new byte[] {1}, 1, false);
      Thread.sleep(200);
      assertThat(open).isNotDone();
      proxy.reset();
      assertThatThrownBy(() -> open.get(5, TimeUnit.SECONDS))
          .isInstanceOf(java.util.concurrent.ExecutionException.class);
      link.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void manyThreadsPublishingOnTheSameTopicsKeepTheConnection(String name) throws Exception {
    try (Broker broker = Broker.of(name)) {
      MqttLink pub = new MqttLink(new MqttLink.Options(broker.url(), "threads-" + name)).start();
      await().atMost(Duration.ofSeconds(20)).until(pub::connected);
      List<String> errors = new CopyOnWriteArrayList<>();
      List<Thread> threads = new java.util.ArrayList<>();
      for (int t = 0; t < 8; t++) {
        Thread th =
            new Thread(
                () -> {
                  for (int i = 0; i < 500 && errors.isEmpty(); i++) {
                    try {
                      pub.publish("load/" + (i % 7), new byte[16], 1, false)
                          .get(10, TimeUnit.SECONDS);
                    } catch (Exception e) {
                      errors.add(e.toString() + " / " + pub.lastError());
                    }
                  }
                });
        threads.add(th);
        th.start();
      }
      for (Thread th : threads) {
        th.join();
      }
      assertThat(errors).as("publishes refused or connection dropped").isEmpty();
      pub.close();
    }
  }
}
