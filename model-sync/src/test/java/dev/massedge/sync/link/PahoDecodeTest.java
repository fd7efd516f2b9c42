package dev.massedge.sync.link;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.MqttPublish;
import org.eclipse.paho.mqttv5.common.packet.MqttWireMessage;
import org.eclipse.paho.mqttv5.common.packet.util.CountingInputStream;
import org.junit.jupiter.api.Test;

/**
 * model-sync replaces Paho's {@code CountingInputStream} so PUBLISH payloads are decoded in bulk;
 * Paho's own decoder, run through the replacement, must still read every field where it was.
 */
class PahoDecodeTest {
  @Test
  void theReplacementIsTheClassLoadedAndComesFromModelSync() {
    assertThat(MqttLink.pahoReadsInBulk()).isTrue();
    String from =
        CountingInputStream.class.getProtectionDomain().getCodeSource().getLocation().toString();
    assertThat(from).doesNotContain("org.eclipse.paho.mqttv5.client");
  }

  @Test
  void payloadsOfEverySizeAreDecodedByPahoWithTopicAndPropertiesIntact() throws Exception {
    Random random = new Random(3);
    for (int size : new int[] {0, 1, 127, 128, 16_383, 16_384, 600_000}) {
      byte[] payload = new byte[size];
      random.nextBytes(payload);
      MqttProperties props = new MqttProperties();
      props.setResponseTopic("mass/v1/dev-1/chunks/response");
      props.setCorrelationData(new byte[] {9, 8, 7});
      MqttMessage message = new MqttMessage(payload, 1, false, props);
      MqttPublish sent = new MqttPublish("mass/v1/dev-1/chunks/response/x", message, props);
      sent.setMessageId(4242);
      ByteArrayOutputStream wire = new ByteArrayOutputStream();
      wire.write(sent.getHeader());
      wire.write(sent.getPayload());

      MqttWireMessage got = MqttWireMessage.createWireMessage(wire.toByteArray());

      assertThat(got).isInstanceOf(MqttPublish.class);
      MqttPublish p = (MqttPublish) got;
      assertThat(p.getTopicName()).isEqualTo("mass/v1/dev-1/chunks/response/x");
      assertThat(p.getMessageId()).isEqualTo(4242);
      assertThat(p.getMessage().getQos()).isEqualTo(1);
      assertThat(p.getProperties().getResponseTopic()).isEqualTo("mass/v1/dev-1/chunks/response");
      assertThat(p.getProperties().getCorrelationData()).containsExactly(9, 8, 7);
      assertThat(p.getMessage().getPayload()).as("payload of %d bytes", size).isEqualTo(payload);
    }
  }

  @Test
  void bytesReadOneAtATimeAndInBulkAreBothCounted() throws Exception {
    byte[] data = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    CountingInputStream counting = new CountingInputStream(new ByteArrayInputStream(data));
    DataInputStream in = new DataInputStream(counting);
    assertThat(in.readUnsignedShort()).isEqualTo(('0' << 8) | '1');
    byte[] five = new byte[5];
    in.readFully(five);
    assertThat(new String(five, StandardCharsets.US_ASCII)).isEqualTo("23456");
    assertThat(counting.getCounter()).isEqualTo(7);
    assertThat(in.read(new byte[100])).isEqualTo(9);
    assertThat(counting.getCounter()).isEqualTo(16);
    assertThat(in.read(new byte[4])).as("at the end").isEqualTo(-1);
    assertThat(counting.read()).isEqualTo(-1);
    assertThat(counting.getCounter()).isEqualTo(16);
    counting.resetCounter();
    assertThat(counting.getCounter()).isZero();
  }
}
