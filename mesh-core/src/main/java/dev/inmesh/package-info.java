/** The front door of Inmesh. The data plane arrives with issue 3; today this module holds the shared model and workload registration. */
package dev.inmesh;
