// Package web is the people's side of modelgate, in two forms.
//
// Dashboard is the page `modelgate server` serves at /: it asks for a
// token once, lists promotions and shows one with its timeline, traffic
// split, smoke results, each check's verdict in plain words and live
// charts of the canary against production, redrawn from the API's event
// stream; it offers accept, abort and approve to the roles that may. Its
// assets are embedded and it fetches nothing from elsewhere.
//
// Handler is the read-only view `modelgate ui` serves straight from a
// store, without a server or tokens: rendered on the server, refreshing
// itself while a promotion runs.
//
// It imports only the root package and the standard library; neither form
// writes to the store.
package web
