package packaging_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// entry is one file of a package as the package manager will create it.
type entry struct {
	mode         fs.FileMode // type and permission bits, setgid included
	owner, group string
	data         []byte
}

// readDeb splits a .deb (deb(5): an ar archive of debian-binary,
// control.tar.gz and data.tar.gz) into its control files and its data files.
func readDeb(b []byte) (control, data map[string]entry, err error) {
	const magic = "!<arch>\n"
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, nil, errors.New("not an ar archive")
	}
	members := map[string][]byte{}
	for rest := b[len(magic):]; len(rest) > 0; {
		if len(rest) < 60 {
			return nil, nil, errors.New("truncated ar header")
		}
		name := strings.TrimSuffix(strings.TrimSpace(string(rest[:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(rest[48:58])))
		if err != nil || 60+size > len(rest) {
			return nil, nil, fmt.Errorf("bad ar member %q", name)
		}
		members[name] = rest[60 : 60+size]
		rest = rest[60+size:]
		if size%2 == 1 && len(rest) > 0 { // members are 2-byte aligned
			rest = rest[1:]
		}
	}
	if string(members["debian-binary"]) != "2.0\n" {
		return nil, nil, fmt.Errorf("debian-binary = %q", members["debian-binary"])
	}
	if control, err = readTarGz(members["control.tar.gz"]); err != nil {
		return nil, nil, fmt.Errorf("control.tar.gz: %w", err)
	}
	if data, err = readTarGz(members["data.tar.gz"]); err != nil {
		return nil, nil, fmt.Errorf("data.tar.gz: %w", err)
	}
	return control, data, nil
}

func readTarGz(b []byte) (map[string]entry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	out := map[string]entry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		name := "/" + strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
		out[name] = entry{mode: h.FileInfo().Mode(), owner: h.Uname, group: h.Gname, data: data}
	}
}

// rpm header tags used here (rpmtag.h).
const (
	tagName          = 1000
	tagVersion       = 1001
	tagRelease       = 1002
	tagArch          = 1022
	tagPreIn         = 1023
	tagPostIn        = 1024
	tagPreUn         = 1025
	tagPostUn        = 1026
	tagFileModes     = 1030
	tagFileFlags     = 1037
	tagFileUserName  = 1039
	tagFileGroupName = 1040
	tagDirIndexes    = 1116
	tagBaseNames     = 1117
	tagDirNames      = 1118
	tagPayloadComp   = 1125

	fileConfig    = 1 << 0 // RPMFILE_CONFIG
	fileNoReplace = 1 << 4 // RPMFILE_NOREPLACE
)

// rpmPackage is what the tests read from an .rpm.
type rpmPackage struct {
	tags  map[int32]any // string, []string, []int32 (int16 and int32 arrays)
	files map[string]entry
	flags map[string]int32 // RPMFILE_* per path
}

func (p rpmPackage) str(tag int32) string {
	s, _ := p.tags[tag].(string)
	return s
}

// readRPM reads an .rpm: a 96-byte lead, the signature header padded to 8
// bytes, the main header, and the compressed cpio payload.
func readRPM(b []byte) (rpmPackage, error) {
	if len(b) < 96 || !bytes.HasPrefix(b, []byte{0xed, 0xab, 0xee, 0xdb}) {
		return rpmPackage{}, errors.New("no rpm lead")
	}
	_, n, err := readRPMHeader(b[96:])
	if err != nil {
		return rpmPackage{}, fmt.Errorf("signature: %w", err)
	}
	off := 96 + (n+7)/8*8
	tags, n, err := readRPMHeader(b[off:])
	if err != nil {
		return rpmPackage{}, fmt.Errorf("header: %w", err)
	}
	p := rpmPackage{tags: tags, files: map[string]entry{}, flags: map[string]int32{}}
	if c := p.str(tagPayloadComp); c != "gzip" {
		return p, fmt.Errorf("payload compressor %q, want gzip", c)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b[off+n:]))
	if err != nil {
		return p, err
	}
	payload, err := io.ReadAll(zr)
	if err != nil {
		return p, err
	}
	contents, err := readCpio(payload)
	if err != nil {
		return p, fmt.Errorf("payload: %w", err)
	}

	base, _ := tags[tagBaseNames].([]string)
	dirs, _ := tags[tagDirNames].([]string)
	dirIdx, _ := tags[tagDirIndexes].([]int32)
	modes, _ := tags[tagFileModes].([]int32)
	flags, _ := tags[tagFileFlags].([]int32)
	users, _ := tags[tagFileUserName].([]string)
	groups, _ := tags[tagFileGroupName].([]string)
	for i := range base {
		if i >= len(dirIdx) || i >= len(modes) || i >= len(flags) || i >= len(users) || i >= len(groups) {
			return p, errors.New("file tags of different lengths")
		}
		path := strings.TrimSuffix(dirs[dirIdx[i]]+base[i], "/")
		p.files[path] = entry{mode: unixMode(uint32(modes[i]) & 0xffff), owner: users[i], group: groups[i], data: contents[path]}
		p.flags[path] = flags[i]
	}
	return p, nil
}

// readRPMHeader reads one header structure and returns its tags and size.
func readRPMHeader(b []byte) (map[int32]any, int, error) {
	if len(b) < 16 || !bytes.HasPrefix(b, []byte{0x8e, 0xad, 0xe8, 0x01}) {
		return nil, 0, errors.New("no header magic")
	}
	count := int(binary.BigEndian.Uint32(b[8:]))
	size := int(binary.BigEndian.Uint32(b[12:]))
	total := 16 + 16*count + size
	if count > 10000 || total > len(b) {
		return nil, 0, errors.New("header larger than the file")
	}
	data := b[16+16*count : total]
	tags := map[int32]any{}
	for i := range count {
		e := b[16+16*i:]
		tag, typ := int32(binary.BigEndian.Uint32(e)), binary.BigEndian.Uint32(e[4:])
		off, n := int(binary.BigEndian.Uint32(e[8:])), int(binary.BigEndian.Uint32(e[12:]))
		if off > len(data) {
			return nil, 0, fmt.Errorf("tag %d: offset out of range", tag)
		}
		v := data[off:]
		switch typ {
		case 3: // INT16
			a := make([]int32, n)
			for j := range a {
				a[j] = int32(binary.BigEndian.Uint16(v[2*j:]))
			}
			tags[tag] = a
		case 4: // INT32
			a := make([]int32, n)
			for j := range a {
				a[j] = int32(binary.BigEndian.Uint32(v[4*j:]))
			}
			tags[tag] = a
		case 6, 9: // STRING, I18NSTRING (first)
			s, _, _ := bytes.Cut(v, []byte{0})
			tags[tag] = string(s)
		case 8: // STRING_ARRAY
			a := make([]string, n)
			for j := range a {
				s, rest, _ := bytes.Cut(v, []byte{0})
				a[j], v = string(s), rest
			}
			tags[tag] = a
		}
	}
	return tags, total, nil
}

// readCpio reads a cpio "newc" archive (magic 070701) into path → content.
func readCpio(b []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	for off := 0; ; {
		if off+110 > len(b) || string(b[off:off+6]) != "070701" {
			return nil, fmt.Errorf("bad cpio header at %d", off)
		}
		field := func(i int) int {
			v, _ := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			return int(v)
		}
		size, nameSize := field(6), field(11)
		nameEnd := off + 110 + nameSize
		if nameEnd > len(b) {
			return nil, errors.New("truncated cpio name")
		}
		name := strings.TrimSuffix(string(b[off+110:nameEnd]), "\x00")
		if name == "TRAILER!!!" {
			return out, nil
		}
		dataStart := (nameEnd + 3) &^ 3
		if dataStart+size > len(b) {
			return nil, errors.New("truncated cpio data")
		}
		out["/"+strings.Trim(strings.TrimPrefix(name, "./"), "/")] = b[dataStart : dataStart+size]
		off = (dataStart + size + 3) &^ 3
	}
}

// unixMode converts st_mode bits to an fs.FileMode.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	switch m & 0o170000 {
	case 0o040000:
		mode |= fs.ModeDir
	case 0o120000:
		mode |= fs.ModeSymlink
	}
	return mode
}
