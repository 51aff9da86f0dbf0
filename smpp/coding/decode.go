package coding

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Names of the encodings Decode reports.
const (
	NameGSM7     = "gsm7"
	NameASCII    = "ascii"
	NameLatin1   = "latin1"
	NameUCS2     = "ucs2"
	NameCyrillic = "iso-8859-5"
	NameHebrew   = "iso-8859-8"
	// NameBinary marks 8-bit data, and any alphabet this package cannot
	// read: the text is the octets in lowercase hexadecimal.
	NameBinary = "binary"
)

// ErrReservedDataCoding is wrapped by Decode's error for a data_coding value
// that neither SMPP 3.4 nor 23.038 defines.
var ErrReservedDataCoding = errors.New("reserved data_coding")

// Decode reads the short_message (or message_payload) of an incoming message
// by its data_coding, without the user data header. It never panics and
// always returns usable text:
//
//   - 0x00-0x0F follow SMPP 3.4 §5.2.19: 0 GSM 7-bit (unpacked, the SMSC
//     default alphabet), 1 IA5/ASCII, 3 Latin-1, 6 ISO-8859-5, 7 ISO-8859-8,
//     8 UCS-2; 2 and 4 (8-bit data), 5, 9, 0x0A, 0x0D and 0x0E (Japanese and
//     Korean sets, pictograms) come back as hex with encoding "binary".
//   - 0x10-0x3F (general data coding) and 0x40-0x7F (automatic deletion) follow
//     23.038 §4: bits 3-2 give the alphabet (GSM 7-bit, 8-bit data, UCS-2),
//     bit 5 set means compressed, which comes back as binary.
//   - 0xC0-0xDF (message waiting, discard or store) are GSM 7-bit, 0xE0-0xEF
//     (message waiting, UCS-2) are UCS-2.
//   - 0xF0-0xFF (data coding/message class) are GSM 7-bit, or 8-bit data when
//     bit 2 is set (0xF4-0xF7, 0xFC-0xFF).
//
// Invalid content decodes tolerantly (see DecodeGSM7; an unpaired UTF-16 half
// becomes U+FFFD). The error is non-nil only for a data_coding that is
// reserved (0x0B, 0x0C, 0x0F, 0x80-0xBF, alphabet bits 11); text and encoding
// are then the binary rendering, still fit to deliver.
func Decode(dataCoding byte, data []byte) (text, encoding string, err error) {
	dc := dataCoding
	switch {
	case dc <= 0x0F:
		switch dc {
		case 0x00:
			return DecodeGSM7(data), NameGSM7, nil
		case 0x01:
			return decodeASCII(data), NameASCII, nil
		case 0x03:
			return decodeLatin1(data), NameLatin1, nil
		case 0x06:
			return decodeCyrillic(data), NameCyrillic, nil
		case 0x07:
			return decodeHebrew(data), NameHebrew, nil
		case 0x08:
			return decodeUCS2(data), NameUCS2, nil
		case 0x0B, 0x0C, 0x0F:
			return binary(data, dc)
		}
		return hex.EncodeToString(data), NameBinary, nil
	case dc <= 0x7F:
		return decodeGeneral(dc, data)
	case dc <= 0xBF:
		return binary(data, dc)
	case dc <= 0xDF:
		return DecodeGSM7(data), NameGSM7, nil
	case dc <= 0xEF:
		return decodeUCS2(data), NameUCS2, nil
	}
	if dc&0x04 != 0 {
		return hex.EncodeToString(data), NameBinary, nil
	}
	return DecodeGSM7(data), NameGSM7, nil
}

// decodeGeneral reads the 23.038 general data coding groups 0x10-0x3F and
// the automatic-deletion groups 0x40-0x7F, which share their low six bits.
func decodeGeneral(dc byte, data []byte) (string, string, error) {
	if dc&0x20 != 0 {
		// Compressed (23.042); the compression is never used in practice.
		return hex.EncodeToString(data), NameBinary, nil
	}
	switch (dc >> 2) & 0x03 {
	case 0:
		return DecodeGSM7(data), NameGSM7, nil
	case 1:
		return hex.EncodeToString(data), NameBinary, nil
	case 2:
		return decodeUCS2(data), NameUCS2, nil
	}
	return binary(data, dc)
}

func binary(data []byte, dc byte) (string, string, error) {
	return hex.EncodeToString(data), NameBinary, fmt.Errorf("coding: data_coding 0x%02X: %w", dc, ErrReservedDataCoding)
}

// JoinDecode joins the raw user data of the parts of a concatenated message,
// in order, and decodes the result once with Decode: an escape and the
// character after it, or the two halves of a surrogate pair, may arrive in two
// different parts. A nil element marks a part that never arrived; the runs on
// either side of it are decoded separately, so that a character cut by the gap
// does not swallow the first character after it.
func JoinDecode(dataCoding byte, parts [][]byte) (text, encoding string, err error) {
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	run := make([]byte, 0, size)
	var texts []string
	flush := func() {
		t, e, derr := Decode(dataCoding, run)
		texts = append(texts, t)
		encoding = e
		if err == nil {
			err = derr
		}
		run = run[:0]
	}
	for _, p := range parts {
		if p == nil {
			if len(run) > 0 {
				flush()
			}
			continue
		}
		run = append(run, p...)
	}
	if len(run) > 0 || len(texts) == 0 {
		flush()
	}
	return strings.Join(texts, ""), encoding, err
}
