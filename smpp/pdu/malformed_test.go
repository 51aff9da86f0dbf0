package pdu_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// frameHex builds a frame from hex (spaces allowed) and sets its
// command_length to its real length unless keepLength.
func frameHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	if len(b) >= 4 {
		setLength(b)
	}
	return b
}

// TestDecode_Malformed feeds broken PDUs to Decode and checks that each
// gives a DecodeError that tells the session exactly how to answer.
func TestDecode_Malformed(t *testing.T) {
	const (
		hdrSubmit   = "00000000 00000004 00000000 0000002A "
		validSubmit = "00 0500 41434D4500 0101 33353800 000000 00 00 01000000 02 4869"
	)
	cases := []struct {
		name   string
		frame  string
		field  string
		status pdu.Status
		action pdu.Action
	}{
		{"unknown request id (broadcast_sm)", "00000000 00000111 00000000 0000002A", "", pdu.StatusInvCmdID, pdu.ActionGenericNack},
		{"unknown response id", "00000000 80000111 00000000 0000002A", "", pdu.StatusInvCmdID, pdu.ActionDrop},
		{"unknown id with a body", "00000000 00001234 00000000 0000002A 0102030405", "", pdu.StatusInvCmdID, pdu.ActionGenericNack},
		{"submit_sm ends before esm_class", hdrSubmit + "00 0500 41434D4500 0101 33353800", "esm_class", pdu.StatusInvCmdLen, pdu.ActionRespond},
		{"submit_sm with an empty body", hdrSubmit, "service_type", pdu.StatusInvCmdLen, pdu.ActionRespond},
		{"sm_length beyond the body", hdrSubmit + "00 0500 41434D4500 0101 33353800 000000 00 00 01000000 05 4869", "short_message", pdu.StatusInvMsgLen, pdu.ActionRespond},
		{"source_addr without NUL at the end", hdrSubmit + "00 0500 41434D45", "source_addr", pdu.StatusInvSrcAdr, pdu.ActionRespond},
		{"destination_addr without NUL", hdrSubmit + "00 0500 00 0101 3131313131313131313131313131313131313131313131313131", "destination_addr", pdu.StatusInvDstAdr, pdu.ActionRespond},
		{"service_type without NUL", hdrSubmit + "4142434445464748", "service_type", pdu.StatusInvSerTyp, pdu.ActionRespond},
		{"validity_period of 5 characters", hdrSubmit + "00 0500 00 0101 00 000000 00 3132333435 00 01000000 00", "validity_period", pdu.StatusInvExpiry, pdu.ActionRespond},
		{"TLV length overruns the PDU", hdrSubmit + validSubmit + " 0424 000A 010203", "tlv message_payload", pdu.StatusInvOptParStream, pdu.ActionRespond},
		{"TLV header cut short", hdrSubmit + validSubmit + " 0424 00", "tlv", pdu.StatusInvOptParStream, pdu.ActionRespond},
		{"vendor TLV overruns", hdrSubmit + validSubmit + " 1401 FFFF 00", "tlv tlv(0x1401)", pdu.StatusInvOptParStream, pdu.ActionRespond},
		{"known TLV of the wrong length", hdrSubmit + validSubmit + " 0427 0002 0102", "tlv message_state", pdu.StatusInvParLen, pdu.ActionRespond},
		{"trailing octets on enquire_link", "00000000 00000015 00000000 0000002A 00", "", pdu.StatusInvCmdLen, pdu.ActionRespond},
		{"trailing octets on query_sm", "00000000 00000003 00000000 0000002A 3100 0000 3200 FF", "", pdu.StatusInvCmdLen, pdu.ActionRespond},
		{"trailing octets on generic_nack", "00000000 80000000 00000003 0000002A 00", "", pdu.StatusInvCmdLen, pdu.ActionDrop},
		{"bind missing its last field", "00000000 00000009 00000000 0000002A 6100 6200 00 34 00 00", "address_range", pdu.StatusInvCmdLen, pdu.ActionRespond},
		{"submit_multi with dest_flag 3", "00000000 00000021 00000000 0000002A 00 0000 00 01 03 0000 00", "dest_flag", pdu.StatusInvDestFlag, pdu.ActionRespond},
		{"submit_multi counting more dests than fit", "00000000 00000021 00000000 0000002A 00 0000 00 05 0200", "number_of_dests", pdu.StatusInvNumDests, pdu.ActionRespond},
		{"submit_sm_resp message_id without NUL", "00000000 80000004 00000000 0000002A 3132", "message_id", pdu.StatusInvMsgID, pdu.ActionDrop},
		{"deliver_sm_resp with a message_id", "00000000 80000005 00000000 0000002A 313200", "message_id", pdu.StatusInvMsgID, pdu.ActionDrop},
		{"submit_multi_resp counting more than fit", "00000000 80000021 00000000 0000002A 00 03 000000", "no_unsuccess", pdu.StatusInvCmdLen, pdu.ActionDrop},
		{"alert_notification cut short (no response exists)", "00000000 00000102 00000000 0000002A 0101", "source_addr", pdu.StatusInvCmdLen, pdu.ActionDrop},
		{"outbind cut short (no response exists)", "00000000 0000000B 00000000 0000002A 61", "system_id", pdu.StatusInvSysID, pdu.ActionDrop},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frame := frameHex(t, c.frame)
			_, p, err := pdu.Decode(frame)
			var de *pdu.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode = %#v, %v; want a DecodeError", p, err)
			}
			if p != nil {
				t.Errorf("Decode returned a PDU with its error: %#v", p)
			}
			if de.Field != c.field || de.Status != c.status || de.Action() != c.action {
				t.Errorf("field %q status %s action %s, want %q %s %s (%v)",
					de.Field, de.Status, de.Action(), c.field, c.status, c.action, err)
			}
			if de.Header.Sequence != 0x2A || de.Header.Length != uint32(len(frame)) {
				t.Errorf("header not carried: %+v", de.Header)
			}
		})
	}
}

// TestDecode_FrameErrors covers frames whose header cannot be trusted.
func TestDecode_FrameErrors(t *testing.T) {
	if _, _, err := pdu.Decode([]byte{0, 0, 0, 16, 0, 0, 0, 21}); err == nil {
		t.Error("Decode of an 8-octet frame succeeded")
	}
	frame := frameHex(t, "00000000 00000015 00000000 00000001")
	frame[3] = 20 // command_length says 20, the frame has 16
	_, _, err := pdu.Decode(frame)
	var de *pdu.DecodeError
	if !errors.As(err, &de) || de.Field != "command_length" || de.Status != pdu.StatusInvCmdLen {
		t.Errorf("length mismatch: err = %v, want command_length ESME_RINVCMDLEN", err)
	}
}

// TestDecodeError_AppendReply checks the octets a session sends back.
func TestDecodeError_AppendReply(t *testing.T) {
	cases := []struct {
		frame string
		reply string // "" for none
	}{
		// unknown id: generic_nack ESME_RINVCMDID, same sequence
		{"00000000 00000111 00000000 0000002A", "00000010 80000000 00000003 0000002A"},
		// malformed submit_sm: submit_sm_resp ESME_RINVSRCADR, header only
		{"00000000 00000004 00000000 0000002B 00 0500 41", "00000010 80000004 0000000A 0000002B"},
		// malformed response: nothing
		{"00000000 80000004 00000000 0000002C 41", ""},
	}
	for _, c := range cases {
		_, _, err := pdu.Decode(frameHex(t, c.frame))
		var de *pdu.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("%s: err = %v", c.frame, err)
		}
		got, ok := de.AppendReply(nil)
		if want := frameHex(t, c.reply); ok != (c.reply != "") || !bytes.Equal(got, want) {
			t.Errorf("%s: AppendReply = %X, %v; want %X", c.frame, got, ok, want)
		}
	}
}

// oneByteReader hands out one octet per Read, like a slow network.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// TestReader_Malformed checks every way a stream can fail to frame.
func TestReader_Malformed(t *testing.T) {
	cases := []struct {
		name   string
		stream string
		max    int
		reason pdu.FramingReason // 0: want want
		want   error
		msg    string
	}{
		{"empty stream", "", 0, 0, io.EOF, ""},
		{"truncated header", "0000", 0, 0, io.ErrUnexpectedEOF, ""},
		{"truncated body", "0000001E 00000004 00000000 00000001 0000", 0, 0, io.ErrUnexpectedEOF, ""},
		{"header cut after the length", "00000010 0000", 0, 0, io.ErrUnexpectedEOF, ""},
		{"length below 16", "00000008 00000015 00000000 00000001", 0, pdu.FramingTooShort, nil, "shorter than the 16-octet header"},
		{"length 0", "00000000 00000015", 0, pdu.FramingTooShort, nil, "framing lost"},
		{"length above the maximum", "00000401 00000004", 1024, pdu.FramingTooLong, nil, "exceeds the limit of 1024"},
		{"length far above the default", "7FFFFFFF 00000004", 0, pdu.FramingTooLong, nil, "exceeds the limit"},
		{"HTTP response", hex.EncodeToString([]byte("HTTP/1.1 400 Bad Request\r\n")), 0, pdu.FramingHTTP, nil, "peer speaks HTTP, not SMPP"},
		{"HTTP GET", hex.EncodeToString([]byte("GET / HTTP/1.1\r\n")), 0, pdu.FramingHTTP, nil, "peer speaks HTTP, not SMPP"},
		{"HTTP POST", hex.EncodeToString([]byte("POST /x HTTP/1.1\r\n")), 0, pdu.FramingHTTP, nil, "peer speaks HTTP"},
		{"HTTP PUT", hex.EncodeToString([]byte("PUT /x HTTP/1.1\r\n")), 0, pdu.FramingHTTP, nil, "peer speaks HTTP"},
		{"HTTP HEAD", hex.EncodeToString([]byte("HEAD / HTTP/1.1\r\n")), 0, pdu.FramingHTTP, nil, "peer speaks HTTP"},
		{"TLS ClientHello", "16030100A5010000A10303", 0, pdu.FramingTLS, nil, "peer started a TLS handshake: enable tls"},
		{"TLS 1.2 record", "1603030040", 0, pdu.FramingTLS, nil, "enable tls"},
		{"TLS alert from a TLS server", "15030300020228", 0, pdu.FramingTLS, nil, "peer sent a TLS alert: enable tls"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := hex.DecodeString(strings.ReplaceAll(c.stream, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			r := pdu.NewReader(oneByteReader{bytes.NewReader(raw)}, c.max)
			frame, err := r.ReadFrame()
			if frame != nil {
				t.Errorf("ReadFrame returned a frame with error %v", err)
			}
			if c.reason == 0 {
				if !errors.Is(err, c.want) {
					t.Errorf("err = %v, want %v", err, c.want)
				}
				return
			}
			var fe *pdu.FramingError
			if !errors.As(err, &fe) || fe.Reason != c.reason {
				t.Fatalf("err = %v, want a FramingError with reason %d", err, c.reason)
			}
			if !strings.Contains(fe.Error(), c.msg) {
				t.Errorf("message %q does not say %q", fe.Error(), c.msg)
			}
			if fe.Action() != pdu.ActionClose {
				t.Errorf("Action = %s, want close", fe.Action())
			}
			reply, ok := fe.AppendReply(nil)
			if want := frameHex(t, "00000010 80000000 00000002 00000000"); !ok || !bytes.Equal(reply, want) {
				t.Errorf("AppendReply = %X, want generic_nack ESME_RINVCMDLEN seq 0 %X", reply, want)
			}
		})
	}
}

// countingReader reports how many octets were asked for, to prove the
// Reader allocates and reads nothing for a refused length.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

// TestReader_RefusesBeforeReading proves that a hostile length is refused
// after the four length octets: nothing more is read.
func TestReader_RefusesBeforeReading(t *testing.T) {
	stream := append([]byte{0x7F, 0xFF, 0xFF, 0xFF}, make([]byte, 100)...)
	cr := &countingReader{r: bytes.NewReader(stream)}
	_, err := pdu.NewReader(cr, 0).ReadFrame()
	var fe *pdu.FramingError
	if !errors.As(err, &fe) || fe.Reason != pdu.FramingTooLong {
		t.Fatalf("err = %v", err)
	}
	if cr.read != 4 {
		t.Errorf("read %d octets, want 4", cr.read)
	}
	// The Reader and the error; nothing for the frame.
	src := []byte{0x7F, 0xFF, 0xFF, 0xFF}
	rd := bytes.NewReader(src)
	if allocs := testing.AllocsPerRun(100, func() {
		rd.Reset(src)
		_, _ = pdu.NewReader(rd, 0).ReadFrame()
	}); allocs > 2 {
		t.Errorf("refusing a 2 GiB length cost %v allocations", allocs)
	}
}
