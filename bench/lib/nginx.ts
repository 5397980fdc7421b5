// nginx from the Debian package, run from our own config (prefix, pid, logs and temp paths
// under bench/.work/), never the system service.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { start, type Managed, type StartOptions } from './processes.js'

/** `$NGINX_BIN` if set (set it to a missing path to test the no-nginx fallback), else nginx on PATH or /usr/sbin. */
export function nginxBinary(): string | undefined {
  const candidates = process.env.NGINX_BIN ? [process.env.NGINX_BIN] : ['nginx', '/usr/sbin/nginx']
  for (const candidate of candidates) {
    const r = spawnSync(candidate, ['-v'], { encoding: 'utf8' })
    if (!r.error && r.status === 0) return candidate
  }
  return undefined
}

export function nginxVersion(bin: string): string {
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' })
  return /nginx\/(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown'
}

function common(dir: string): string {
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '' // workers must read bench/.work
  return `${user}daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 16000; multi_accept on; }
`
}

function httpCommon(dir: string): string {
  return `  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_max_body_size 2m;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy_temp')};
  fastcgi_temp_path ${join(dir, 'fastcgi_temp')};
  uwsgi_temp_path ${join(dir, 'uwsgi_temp')};
  scgi_temp_path ${join(dir, 'scgi_temp')};
`
}

/** Static origin: /small (12 bytes), /64k, /1m from `www`; POST /upload reads and discards up to 2 MiB, answers `ok`. */
export function originConfig(dir: string, www: string, port: number): string {
  return `${common(dir)}http {
${httpCommon(dir)}  open_file_cache max=64;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${www};
    # An upload endpoint that reads the whole body before it answers (a plain 'return' would
    # answer first and discard the body afterwards, which made proxies stall intermittently):
    # mirror_request_body makes nginx read the body in the precontent phase; the static handler
    # then refuses POST on the file 'upload' with 405, which error_page turns into 200 'ok'.
    location = /upload {
      client_body_buffer_size 2m;
      mirror /__sink;
      mirror_request_body on;
      error_page 405 =200 @ok;
    }
    location = /__sink { internal; return 204; }
    location @ok { return 200 'ok'; }
    location / { }
  }
}
`
}

/** Reverse proxy: 1 worker, upstream keepalive 1024, HTTP/1.1 upstream, no access log. */
export function proxyConfig(dir: string, port: number, originPort: number): string {
  return `${common(dir)}http {
${httpCommon(dir)}  upstream origin {
    server 127.0.0.1:${originPort};
    keepalive 1024;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Keep bodies in memory, never in temp files under bench/.work: request bodies are
      # buffered (nginx's default mode) in one 2 MiB buffer; responses use 1 MiB of buffers.
      # (proxy_request_buffering off made nginx close client connections when the origin
      # answered an upload before reading all of it: ~2k wrk read errors per run.)
      client_body_buffer_size 2m;
      proxy_buffers 32 32k;
      proxy_max_temp_file_size 0;
    }
  }
}
`
}

export function startNginx(bin: string, name: string, dir: string, config: string, opts: StartOptions): Managed {
  mkdirSync(dir, { recursive: true })
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, config)
  return start(name, bin, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], opts)
}
