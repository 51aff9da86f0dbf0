package coding

import (
	"errors"
	"fmt"
)

// Information element identifiers this package knows by name (23.040
// §9.2.3.24). Others are kept as they come.
const (
	IEIConcat8        = 0x00 // concatenated SM, 8-bit reference
	IEIPort8          = 0x04 // application port addressing, 8-bit ports
	IEIPort16         = 0x05 // application port addressing, 16-bit ports
	IEIConcat16       = 0x08 // concatenated SM, 16-bit reference
	IEISingleShift    = 0x24 // national language single shift table
	IEILockingShift   = 0x25 // national language locking shift table
	concat8HeaderLen  = 6    // 05 00 03 ref total seq
	concat16HeaderLen = 7    // 06 08 04 refHi refLo total seq
)

// IE is one information element of a user data header.
type IE struct {
	ID   byte
	Data []byte // aliases the parsed message
}

// UDH is a parsed user data header: its information elements in order.
type UDH []IE

// ErrUDH is wrapped by every error ParseUDH returns.
var ErrUDH = errors.New("malformed user data header")

// ParseUDH splits user data that starts with a header (esm_class UDHI set)
// into the header's information elements and the rest of the user data. The
// first octet is UDHL, the header length after itself; every element must lie
// inside it (23.040 §9.2.3.24). The returned slices alias msg.
func ParseUDH(msg []byte) (UDH, []byte, error) {
	if len(msg) == 0 {
		return nil, nil, fmt.Errorf("coding: %w: empty user data", ErrUDH)
	}
	end := 1 + int(msg[0])
	if end > len(msg) {
		return nil, nil, fmt.Errorf("coding: %w: UDHL %d but only %d octets follow", ErrUDH, msg[0], len(msg)-1)
	}
	var h UDH
	for i := 1; i < end; {
		if i+2 > end {
			return nil, nil, fmt.Errorf("coding: %w: element at octet %d cut short", ErrUDH, i)
		}
		id, n := msg[i], int(msg[i+1])
		if i+2+n > end {
			return nil, nil, fmt.Errorf("coding: %w: element 0x%02X of %d octets overruns the header", ErrUDH, id, n)
		}
		h = append(h, IE{ID: id, Data: msg[i+2 : i+2+n : i+2+n]})
		i += 2 + n
	}
	return h, msg[end:], nil
}

// RefKind says where a concatenated message's reference came from, which is
// part of what identifies it: parts with the same number under different
// kinds do not belong together.
type RefKind uint8

const (
	Ref8   RefKind = iota + 1 // UDH element 0x00
	Ref16                     // UDH element 0x08
	RefSAR                    // the sar_* TLVs of SMPP 3.4 §5.3.2.22-24
)

func (k RefKind) String() string {
	switch k {
	case Ref8:
		return "udh8"
	case Ref16:
		return "udh16"
	case RefSAR:
		return "sar"
	}
	return fmt.Sprintf("refkind(%d)", uint8(k))
}

// Concat is the concatenation information of one part.
type Concat struct {
	Kind  RefKind
	Ref   uint16
	Total int
	Seq   int // 1-based
}

// Valid reports whether the part numbers make sense: 1 <= Seq <= Total. Per
// 23.040 §9.2.3.24.1 a receiver ignores a concatenation element that fails
// this and treats the part as a message of its own.
func (c Concat) Valid() bool { return c.Total >= 1 && c.Seq >= 1 && c.Seq <= c.Total }

// Concat returns the concatenation element of the header, 8-bit or 16-bit
// reference; when several are present the last wins, as 23.040 §9.2.3.24
// prescribes for elements that may not repeat. An element of the wrong length
// is ignored. The numbers are returned as sent: check Valid.
func (h UDH) Concat() (Concat, bool) {
	var c Concat
	found := false
	for _, ie := range h {
		switch {
		case ie.ID == IEIConcat8 && len(ie.Data) == 3:
			c = Concat{Kind: Ref8, Ref: uint16(ie.Data[0]), Total: int(ie.Data[1]), Seq: int(ie.Data[2])}
			found = true
		case ie.ID == IEIConcat16 && len(ie.Data) == 4:
			c = Concat{Kind: Ref16, Ref: uint16(ie.Data[0])<<8 | uint16(ie.Data[1]), Total: int(ie.Data[2]), Seq: int(ie.Data[3])}
			found = true
		}
	}
	return c, found
}

// Len is the encoded length of the header, UDHL octet included.
func (h UDH) Len() int {
	n := 1
	for _, ie := range h {
		n += 2 + len(ie.Data)
	}
	return n
}

// AppendTo writes the header, UDHL first. It fails when the header or an
// element is longer than one octet can count.
func (h UDH) AppendTo(dst []byte) ([]byte, error) {
	if h.Len()-1 > 0xFF {
		return dst, fmt.Errorf("coding: %w: %d octets, at most 255", ErrUDH, h.Len()-1)
	}
	dst = append(dst, byte(h.Len()-1))
	for _, ie := range h {
		dst = append(dst, ie.ID, byte(len(ie.Data)))
		dst = append(dst, ie.Data...)
	}
	return dst, nil
}

// appendConcatUDH writes the concatenation header of one part.
func appendConcatUDH(dst []byte, m Method, ref uint16, total, seq int) []byte {
	if m == SplitUDH16 {
		return append(dst, 0x06, IEIConcat16, 0x04, byte(ref>>8), byte(ref), byte(total), byte(seq))
	}
	return append(dst, 0x05, IEIConcat8, 0x03, byte(ref), byte(total), byte(seq))
}
