package main

import "testing"

func TestActorAndSource(t *testing.T) {
	t.Setenv("MODELGATE_ACTOR", "release-bot")
	t.Setenv("USER", "alice")
	if name, src := actorAndSource(); name != "release-bot" || src != "env:MODELGATE_ACTOR" {
		t.Fatalf("actorAndSource = %q, %q", name, src)
	}
	t.Setenv("MODELGATE_ACTOR", "")
	if name, src := actorAndSource(); name != "alice" || src != "env:USER" {
		t.Fatalf("actorAndSource = %q, %q", name, src)
	}
	t.Setenv("USER", "")
	if name, src := actorAndSource(); (src != "os:user" || name == "") && src != "unknown" {
		t.Fatalf("actorAndSource = %q, %q", name, src)
	}
}
