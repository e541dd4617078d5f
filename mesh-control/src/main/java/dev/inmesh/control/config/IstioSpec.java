package dev.inmesh.control.config;

/** The typed, validated spec of one Istio resource. One record per kind. */
public interface IstioSpec {}
