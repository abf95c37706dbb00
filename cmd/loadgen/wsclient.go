package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/ws"
)

// dialWS opens a WebSocket from the given local address (nil: any) and
// returns the connection and a reader holding bytes buffered by the handshake.
func dialWS(ctx context.Context, url string, local net.Addr) (net.Conn, io.Reader, error) {
	d := ws.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		nd := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: local}
		d.NetDial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nd.DialContext(ctx, network, addr)
		}
	}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return conn, r, nil
}

// readFrames reads server frames until the socket ends, answering pings,
// and hands each text frame's payload to onText with its arrival time.
func readFrames(conn net.Conn, r io.Reader, onText func(payload []byte, at time.Time)) error {
	for {
		f, err := ws.ReadFrame(r)
		if err != nil {
			return err
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			_ = ws.WriteFrame(conn, ws.MaskFrame(ws.NewPongFrame(f.Payload)))
		case ws.OpClose:
			return errors.New("closed by the server")
		case ws.OpText, ws.OpBinary:
			if f.Header.Masked {
				ws.Cipher(f.Payload, f.Header.Mask, 0)
			}
			onText(f.Payload, time.Now())
		}
	}
}

// sourceAddr spreads client sockets over 127.0.0.2… so no single source
// address runs out of ephemeral ports.
func sourceAddr(i, sources int) net.Addr {
	if sources <= 0 {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%sources))}
}

var (
	frameTypeMessageCreated = []byte(`"type":"message.created"`)
	frameTypeMessageUpdated = []byte(`"type":"message.updated"`)
)

// externalNumber finds "external_id":"<prefix><n>" in a frame without
// decoding it (the consoles read tens of thousands of frames a second).
func externalNumber(payload []byte, prefix string) (int64, bool) {
	key := `"external_id":"` + prefix
	i := bytes.Index(payload, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := payload[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil
}

// consoleURL asks for a one-use socket ticket, as the console does before
// every (re)connect, and returns the socket URL that spends it. The access
// token itself never goes in a URL (the server refuses it there).
func consoleURL(ctx context.Context, client *http.Client, base, token string) (string, error) {
	var out struct {
		Ticket string `json:"ticket"`
	}
	status, err := apiJSON(ctx, client, http.MethodPost, base+"/api/v1/ws/ticket", token, nil, &out)
	if err != nil {
		return "", fmt.Errorf("socket ticket: %w", err)
	}
	if status != http.StatusOK || out.Ticket == "" {
		return "", fmt.Errorf("socket ticket: status %d", status)
	}
	return "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws?ticket=" + out.Ticket, nil
}

// runBareWS is the child process `loadgen bare-ws ADDR`: a bare gobwas/ws
// server, one reader goroutine per socket (the socket memory limit).
func runBareWS(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: loadgen bare-ws ADDR")
	}
	l, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			for {
				hdr, err := ws.ReadHeader(conn)
				if err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, conn, hdr.Length); err != nil {
					return
				}
			}
		}()
	})
	return (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(l)
}
