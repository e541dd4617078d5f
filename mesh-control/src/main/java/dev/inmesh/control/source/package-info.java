/**
 * Where config comes from and the one way it changes: {@link ConfigController} validates, checks
 * that each resource has one owner (a file of the config directory, or the API) and only then writes
 * to the store, so a rejected change leaves the last good config in force; {@link ConfigDirectory}
 * feeds it a directory's YAML files.
 */
package dev.inmesh.control.source;
