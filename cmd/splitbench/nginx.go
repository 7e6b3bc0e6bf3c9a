package main

import (
	"fmt"
	"strings"
)

// nginxConf is nginx as a 90/10 splitting proxy in front of stable and
// canary upstreams kept alive (HTTP/1.1, no Connection header to the
// upstream), one worker, logs off, everything under its prefix directory.
func nginxConf(listen int, stable, canary string, percent int) string {
	r := strings.NewReplacer(
		"{listen}", fmt.Sprint(listen), "{stable}", stable, "{canary}", canary, "{percent}", fmt.Sprint(percent))
	return r.Replace(`worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path body;
  proxy_temp_path proxy;
  fastcgi_temp_path fastcgi;
  uwsgi_temp_path uwsgi;
  scgi_temp_path scgi;
  upstream stable { server {stable}; keepalive 64; }
  upstream canary { server {canary}; keepalive 64; }
  split_clients "${remote_addr}${request_id}" $up {
    {percent}% canary;
    * stable;
  }
  server {
    listen 127.0.0.1:{listen};
    location / {
      proxy_pass http://$up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`)
}
