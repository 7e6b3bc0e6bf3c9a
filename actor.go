package modelgate

import "context"

// Actor is who acts (a person, or a token's name) and where the name came
// from ("env:USER", "token:<name>"), as the audit trail records them.
type Actor struct {
	Name   string
	Source string
}

type actorKey struct{}

// NewContextWithActor returns ctx carrying who acts, for a service that
// serves several people (a modelgate server names each caller by token).
func NewContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor ctx carries, and whether it has one.
func ActorFromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok && a.Name != ""
}
