/**
 * Not API, apart from {@link RequestView}, which each transport adapts its request to: Envoy's
 * route matching. A {@link RouteTable} (RDS) picks a {@link VirtualHost} by authority, whose routes
 * are tried in order, first match wins; {@link RoutePathIndex} rules out routes by path without
 * changing that order; {@link StringMatcher} is Envoy's string matching.
 */
package dev.inmesh.internal.routing;

import dev.inmesh.spi.RequestView;
