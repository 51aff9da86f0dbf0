package smpp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smsagent/smsagent/smpp"
	"github.com/smsagent/smsagent/smpp/pdu"
)

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts
// it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smsc test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// Dial with TLS checks the certificate against the host dialled
// (ServerName filled in from addr) and the session runs over it.
func TestDial_tls(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return // the client refused our certificate
				}
				p := newPeer(t, c)
				h, _ := p.expect(pdu.EnquireLinkID)
				p.write(&pdu.EnquireLinkResp{}, pdu.StatusOK, h.Sequence)
				served <- nil
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := smpp.Dial(ctx, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if st := conn.(*tls.Conn).ConnectionState(); !st.HandshakeComplete || len(st.VerifiedChains) == 0 {
		t.Errorf("handshake %v, verified %d chains", st.HandshakeComplete, len(st.VerifiedChains))
	}
	if _, err := conn.Write(mustHex(t, "00000010 00000015 00000000 00000001")); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	conn.Close()

	// The name checked is the host dialled; a certificate that does not
	// carry the name asked for is refused.
	_, err = smpp.Dial(ctx, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "smsc.example"})
	var ce *tls.CertificateVerificationError
	if !errors.As(err, &ce) {
		t.Errorf("Dial with the wrong name: %v", err)
	}
}

// The TLS handshake is bounded by the context: a server that accepts and
// says nothing cannot hold Dial.
func TestDial_tlsHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c) // reads the hello, answers nothing
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := smpp.Dial(ctx, "tcp", ln.Addr().String(), &tls.Config{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial = %v, want the deadline", err)
	}
}

// An ESME pointed at a web server gets an error that says so, not a
// "PDU length 1213486160" (node#230). The peer answers whatever it reads
// with a 400, as web servers do.
func TestSession_httpPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Read(make([]byte, 512))
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		_, _ = io.Copy(io.Discard, c)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := smpp.Dial(ctx, "tcp", ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := smpp.NewSession(conn, smpp.SessionOptions{})
	defer func() { _ = s.Close(ctx) }()
	err = s.Bind(ctx, smpp.BindRequest{Mode: smpp.Transceiver, SystemID: "agent"})
	var fe *pdu.FramingError
	if !errors.As(err, &fe) || fe.Reason != pdu.FramingHTTP || !strings.Contains(err.Error(), "HTTP") {
		t.Fatalf("Bind = %v, want the HTTP framing error", err)
	}
}
