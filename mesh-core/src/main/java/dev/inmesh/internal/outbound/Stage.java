package dev.inmesh.internal.outbound;

import java.io.IOException;

/**
 * One step of the outbound path. A stage reads and fills in the {@link OutboundCall}, then either
 * answers the call itself (a mesh response: no route, fault abort, overflow ...) or hands it on with
 * {@link OutboundCall#proceed()}. The order of the stages is written in one place,
 * {@link OutboundPipeline#stages}.
 */
interface Stage {
  <R> R handle(OutboundCall<R> call) throws IOException;
}
