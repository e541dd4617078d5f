package dev.inmesh.internal.security;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Just enough DER to write a PKCS#10 request. mesh-core keeps BouncyCastle out (it belongs to the
 * CA), and the JDK has no public CSR API.
 */
final class Der {
  static final int INTEGER = 0x02;
  static final int BIT_STRING = 0x03;
  static final int OCTET_STRING = 0x04;
  static final int OID = 0x06;
  static final int UTF8_STRING = 0x0c;
  static final int SEQUENCE = 0x30;
  static final int SET = 0x31;

  private Der() {}

  static byte[] tlv(int tag, byte[]... contents) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (byte[] content : contents) {
      body.writeBytes(content);
    }
    byte[] value = body.toByteArray();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(tag);
    writeLength(out, value.length);
    out.writeBytes(value);
    return out.toByteArray();
  }

  static byte[] sequence(byte[]... contents) {
    return tlv(SEQUENCE, contents);
  }

  static byte[] integer(int value) {
    return tlv(INTEGER, new byte[] {(byte) value});
  }

  static byte[] bitString(byte[] bits) {
    byte[] withPadding = new byte[bits.length + 1];
    System.arraycopy(bits, 0, withPadding, 1, bits.length);
    return tlv(BIT_STRING, withPadding);
  }

  static byte[] utf8(String text) {
    return tlv(UTF8_STRING, text.getBytes(StandardCharsets.UTF_8));
  }

  /** An OID from its dotted form. */
  static byte[] oid(String dotted) {
    String[] parts = dotted.split("\\.");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(Integer.parseInt(parts[0]) * 40 + Integer.parseInt(parts[1]));
    for (int i = 2; i < parts.length; i++) {
      long value = Long.parseLong(parts[i]);
      int groups = 1;
      for (long v = value >> 7; v > 0; v >>= 7) {
        groups++;
      }
      for (int g = groups - 1; g >= 0; g--) {
        int septet = (int) ((value >> (7 * g)) & 0x7f);
        out.write(g == 0 ? septet : septet | 0x80);
      }
    }
    return tlv(OID, out.toByteArray());
  }

  /** A context-specific tag: constructed when {@code constructed}, implicit primitive otherwise. */
  static byte[] context(int number, boolean constructed, byte[]... contents) {
    return tlv((constructed ? 0xa0 : 0x80) | number, contents);
  }

  private static void writeLength(ByteArrayOutputStream out, int length) {
    if (length < 0x80) {
      out.write(length);
    } else if (length <= 0xff) {
      out.write(0x81);
      out.write(length);
    } else if (length <= 0xffff) {
      out.write(0x82);
      out.write(length >> 8);
      out.write(length);
    } else {
      out.write(0x83);
      out.write(length >> 16);
      out.write(length >> 8);
      out.write(length);
    }
  }
}
