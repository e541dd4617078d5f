package dev.inmesh.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/** The heap this JVM holds live: what a benchmark compares before and after letting something go. */
public final class HeapInUse {
  private HeapInUse() {}

  /**
   * Bytes of heap in use after full collections: the least of five, 200 ms apart, so that what
   * other threads allocate between a collection and its reading counts as little as it can.
   */
  public static long afterFullCollections() throws InterruptedException {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(200);
      used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
    }
    return used;
  }
}
