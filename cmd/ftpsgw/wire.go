package main

// wire.go holds the call sites of the concrete engine, backend and policy
// constructors, so a change in their API is adjusted in one place.

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/ftpsgw/ftpsgw/gateway"
	"github.com/ftpsgw/ftpsgw/policy"
)

// hashPassword returns the argon2id PHC string for pw.
func hashPassword(pw string) (string, error) { return policy.HashPassword(pw) }

// explain renders the policy's explanation of one decision.
func explain(s *settings, user string, perm policy.Perm, vpath string, from netip.Addr) (string, error) {
	if s.policy == nil {
		return "", errors.New("policy did not compile")
	}
	return s.policy.Explain(user, perm, vpath, from).String() + "\n", nil
}

// gatewayServer is what serve needs of *gateway.Server.
type gatewayServer interface {
	Serve(ln net.Listener) error
	ServeImplicit(ln net.Listener) error
	Shutdown(ctx context.Context) error
	Close() error
}

// errServerClosed is what Serve returns after Shutdown or Close.
var errServerClosed = gateway.ErrServerClosed

// newGatewayServer builds the FTP engine.
func newGatewayServer(cfg gateway.Config) (gatewayServer, error) {
	return gateway.New(cfg)
}
