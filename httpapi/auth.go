package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// Role is what a token may do.
type Role string

const (
	RoleViewer   Role = "viewer"   // read: promotions, events, status, the audit check
	RoleOperator Role = "operator" // read, and start, accept, abort, resume promotions
	RoleApprover Role = "approver" // read, and approve versions
	RoleAdmin    Role = "admin"    // everything
)

// permission is one kind of call.
type permission string

const (
	permRead    permission = "read"
	permOperate permission = "operate"
	permApprove permission = "approve"
)

// allows reports whether r may make calls of kind p.
func (r Role) allows(p permission) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleOperator:
		return p == permRead || p == permOperate
	case RoleApprover:
		return p == permRead || p == permApprove
	case RoleViewer:
		return p == permRead
	}
	return false
}

// Identity is who a token stands for.
type Identity struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// Tokens maps bearer tokens to identities. It keeps only the tokens'
// SHA-256 and compares them in constant time.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	sum [sha256.Size]byte
	id  Identity
}

// MinTokenLength is the shortest token Add accepts.
const MinTokenLength = 16

// Add accepts token for id. It refuses a short or repeated token, an
// identity without a name, and an unknown role.
func (t *Tokens) Add(token string, id Identity) error {
	switch {
	case len(token) < MinTokenLength:
		return fmt.Errorf("the token of %q is shorter than %d characters", id.Name, MinTokenLength)
	case id.Name == "" || strings.ContainsAny(id.Name, " \t\n"):
		return fmt.Errorf("a token needs a name without spaces, got %q", id.Name)
	case !id.Role.allows(permRead):
		return fmt.Errorf("the role of %q is %q; expected viewer, operator, approver or admin", id.Name, id.Role)
	}
	if _, ok := t.lookup(token); ok {
		return fmt.Errorf("the token of %q is given twice", id.Name)
	}
	t.entries = append(t.entries, tokenEntry{sum: sha256.Sum256([]byte(token)), id: id})
	return nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// lookup finds token's identity, comparing it with every entry in
// constant time.
func (t *Tokens) lookup(token string) (Identity, bool) {
	sum := sha256.Sum256([]byte(token))
	var found Identity
	ok := 0
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			found, ok = e.id, 1
		}
	}
	return found, ok == 1
}

// bearer returns the request's bearer token, "" when it has none.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
