/**
 * Not API, apart from what transports implement ({@link Transport}, {@link Attempt},
 * {@link CallOptions}): the outbound pipeline every mesh call goes through.
 * {@link OutboundPipeline#execute} lists its order in one method: route, fault, retry and timeout,
 * balance, endpoint. {@link ClusterRuntime} is a cluster's live state (balancer, outlier detection,
 * connection limits, retry budget), kept across config updates by {@link ClusterRuntimes}; load
 * reports and the {@code x-inmesh-explain} header are filled in on the way.
 */
package dev.inmesh.internal.outbound;

import dev.inmesh.spi.Attempt;
import dev.inmesh.spi.CallOptions;
import dev.inmesh.spi.Transport;
