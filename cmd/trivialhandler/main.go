package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	if err := http.ListenAndServe(*listen, handler()); err != nil {
		fmt.Fprintln(os.Stderr, "trivialhandler:", err)
		os.Exit(1)
	}
}

// v1Request is the V1 predict body; instances stay generic, as a server that
// does not know the model's schema decodes them.
type v1Request struct {
	Instances []any `json:"instances"`
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"name":%q,"ready":true}`, r.PathValue("name"))
	})
	mux.HandleFunc("POST /v1/models/{model}", predict)
	return mux
}

// predict answers {"predictions":[0,…]}, one zero per decoded instance.
func predict(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.PathValue("model"), ":predict") {
		http.NotFound(w, r)
		return
	}
	var req v1Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":`+strconv.Quote(err.Error())+`}`, http.StatusBadRequest)
		return
	}
	b := make([]byte, 0, 16+2*len(req.Instances))
	b = append(b, `{"predictions":[`...)
	for i := range req.Instances {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '0')
	}
	b = append(b, "]}"...)
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(b); err != nil {
		log.Printf("write: %v", err)
	}
}
