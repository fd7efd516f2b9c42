package dev.massedge.sync.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.testing.Broker;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The outbox through a real broker that goes away for a minute while records keep coming. */
class OutboxDeliveryTest {
  /** The outage; the issue asks for 60 s ({@code -Dmass.test.outage=10} for a quick run). */
  static final int DOWN_SECONDS = Integer.getInteger("mass.test.outage", 60);

  @TempDir Path dir;

  static String diagnose(
      List<Long> received,
      long total,
      Outbox outbox,
      OutboxSender sender,
      MqttLink device,
      MqttLink cloud) {
    List<Long> missing =
        java.util.stream.LongStream.range(0, total)
            .filter(i -> !received.contains(i))
            .limit(20)
            .boxed()
            .toList();
    return "produced "
        + total
        + ", missing "
        + missing
        + ", received "
        + received.size()
        + ", outbox "
        + outbox.stats()
        + ", sender: "
        + sender.lastError()
        + ", device "
        + device.connected()
        + ", cloud "
        + cloud.connected()
        + " ("
        + cloud.lastError()
        + ")";
  }

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void aBrokerGoneForSixtySecondsAt50PerSecondLosesNothingAndKeepsOrder(String name)
      throws Exception {
    try (Broker broker = Broker.of(name)) {
      List<Long> received = new CopyOnWriteArrayList<>();
      MqttLink cloud =
          new MqttLink(new MqttLink.Options(broker.url(), "cloud-" + name).persistent()).start();
      OutboxReceiver receiver =
          new OutboxReceiver(
              cloud, (dev, kind, seq, payload) -> received.add(ByteBuffer.wrap(payload).getLong()));
      MqttLink device = new MqttLink(new MqttLink.Options(broker.url(), "dev1-" + name)).start();
      await().atMost(Duration.ofSeconds(20)).until(() -> cloud.connected() && device.connected());
      Outbox outbox = new Outbox(dir, 64 << 20, 1 << 20, 1);
      OutboxSender sender =
          new OutboxSender(
                  outbox,
                  device,
                  e -> new OutboxSender.Publication("mass/v1/dev1/telemetry", e.data(), null),
                  10,
                  "mass/v1/dev1/telemetry/ack",
                  2000)
              .start();
      AtomicLong produced = new AtomicLong();
      ScheduledExecutorService producer = Executors.newSingleThreadScheduledExecutor();
      producer.scheduleAtFixedRate(
          () -> {
            try {
              outbox.append(ByteBuffer.allocate(64).putLong(produced.getAndIncrement()).array());
              sender.wakeup();
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          },
          0,
          20,
          TimeUnit.MILLISECONDS); // 50 records per second
      Thread.sleep(3000);
      System.out.println("broker stopped at record " + produced.get());
      broker.stop();
      Thread.sleep(DOWN_SECONDS * 1000L);
      long pendingWhileDown = outbox.stats().pending();
      broker.start();
      Thread.sleep(3000);
      producer.shutdown();
      producer.awaitTermination(5, TimeUnit.SECONDS);
      long total = produced.get();
      assertThat(pendingWhileDown)
          .isGreaterThan(DOWN_SECONDS * 40L); // a minute's worth waited on disk
      try {
        await()
            .atMost(Duration.ofSeconds(90))
            .until(
                () ->
                    outbox.stats().pending() == 0 && received.stream().distinct().count() == total);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(diagnose(received, total, outbox, sender, device, cloud), e);
      }
      // every record, in order; repeats (at least once) only right after the reconnection
      List<Long> distinct = received.stream().distinct().toList();
      assertThat(distinct).hasSize((int) total);
      for (int i = 0; i < distinct.size(); i++) {
        assertThat(distinct.get(i)).isEqualTo(i);
      }
      assertThat(outbox.stats().dropped()).isZero();
      System.out.printf(
          "%s: %d records, %d repeats dropped by the receiver, %d held back after a gap, %d resent%n",
          name, total, receiver.duplicates(), receiver.outOfOrder(), sender.resent());
      sender.close();
      receiver.close();
      device.close();
      cloud.close();
      outbox.close();
    }
  }

  @org.junit.jupiter.api.Test
  void recordsDroppedOverTheQuotaWhileOfflineAreCountedAndDoNotStallTheCloud() throws Exception {
    try (Broker broker = Broker.mosquitto()) {
      List<Long> received = new CopyOnWriteArrayList<>();
      MqttLink cloud =
          new MqttLink(new MqttLink.Options(broker.url(), "cloud-quota").persistent()).start();
      OutboxReceiver receiver =
          new OutboxReceiver(
              cloud, (dev, kind, seq, payload) -> received.add(ByteBuffer.wrap(payload).getLong()));
      MqttLink device = new MqttLink(new MqttLink.Options(broker.url(), "dev-quota")).start();
      await().atMost(Duration.ofSeconds(20)).until(() -> cloud.connected() && device.connected());
      Outbox outbox = new Outbox(dir, 8 * 1024, 1024, 1);
      OutboxSender sender =
          new OutboxSender(
                  outbox,
                  device,
                  e -> new OutboxSender.Publication("mass/v1/dq/telemetry", e.data(), null),
                  10,
                  "mass/v1/dq/telemetry/ack",
                  2000)
              .start();
      for (long i = 0; i < 20; i++) {
        outbox.append(ByteBuffer.allocate(64).putLong(i).array());
        sender.wakeup();
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> outbox.stats().pending() == 0);
      broker.stop(); // the cloud is out of reach while 600 records come: the oldest are dropped
      for (long i = 20; i < 620; i++) {
        outbox.append(ByteBuffer.allocate(64).putLong(i).array());
      }
      long dropped = outbox.stats().dropped();
      assertThat(dropped).isGreaterThan(0);
      broker.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> outbox.stats().pending() == 0);
      List<Long> distinct = received.stream().distinct().toList();
      assertThat(distinct).hasSize((int) (620 - dropped));
      assertThat(distinct).isSorted();
      assertThat(distinct.get(distinct.size() - 1)).isEqualTo(619);
      assertThat(receiver.droppedOnDevice()).isEqualTo(dropped);
      sender.close();
      receiver.close();
      device.close();
      cloud.close();
      outbox.close();
    }
  }
}
