package dev.aggregator.server;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpMessage;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.ConnectionBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Vert.x's HTTP/1 request decoder, except that a request with both {@code Content-Length} and
 * {@code Transfer-Encoding: chunked} is refused (400, connection closed) instead of having its
 * Content-Length dropped, as RFC 9112 §6.1 allows a server to do: a proxy in front that picks the
 * other header would see a different request boundary (request smuggling).
 *
 * <p>Netty decides this in {@code handleTransferEncodingChunkedWithContentLength}; failing there
 * makes the decoder emit an invalid request, which Vert.x answers with 400 and a close. Vert.x has
 * no option for it, so {@link #install} swaps the decoder into each new connection's pipeline (an
 * internal API: {@code StrictRequestDecoderTest} fails if an upgrade changes it).
 */
final class StrictRequestDecoder extends VertxHttpRequestDecoder {
  private static final Logger LOG = LoggerFactory.getLogger(StrictRequestDecoder.class);
  private static final String NAME = "httpDecoder";

  StrictRequestDecoder(HttpServerOptions options) {
    super(options);
  }

  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    throw new IllegalArgumentException("both Content-Length and Transfer-Encoding");
  }

  /** Called as a connection opens, before its first byte is read. */
  static void install(HttpConnection connection, HttpServerOptions options) {
    if (!(connection instanceof ConnectionBase base)) {
      return; // HTTP/2 frames its own bodies
    }
    ChannelPipeline pipeline = base.channel().pipeline();
    if (pipeline.get(NAME) instanceof VertxHttpRequestDecoder d
        && !(d instanceof StrictRequestDecoder)) {
      pipeline.replace(NAME, NAME, new StrictRequestDecoder(options));
    } else if (!(pipeline.get(NAME) instanceof StrictRequestDecoder)) {
      LOG.warn("no HTTP/1 decoder named {} to make strict: CL+TE requests are not refused", NAME);
    }
  }
}
