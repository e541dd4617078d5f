/**
 * Where accepted config, registered workloads and the CA's join tokens live: in memory (the
 * embedded default) or in etcd, shared by every replica ({@link Stores} picks one set).
 */
package dev.inmesh.control.store;
