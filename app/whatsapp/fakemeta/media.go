package fakemeta

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strconv"
	"strings"
)

// Media kinds MediaID understands; the last digit of a media id picks its type, so
// that any numeric id (like those in Meta's examples) maps to some file.
const (
	MediaJPEG = "image/jpeg"
	MediaPNG  = "image/png"
	MediaOGG  = "audio/ogg; codecs=opus"
	MediaPDF  = "application/pdf"
)

// MediaID returns a numeric media id the fake serves as kind: "image" (JPEG), "png",
// "audio" (an Ogg voice note) or "document" (PDF). n makes it unique.
func MediaID(kind string, n int) string {
	last := map[string]int{"image": 1, "png": 4, "audio": 6, "voice": 6, "document": 8}[kind]
	if last == 0 {
		last = 1
	}
	return fmt.Sprintf("77%012d%d", n%1_000_000_000_000, last)
}

// MediaMime is the type the fake serves for a media id ("" when the id is not numeric,
// which the fake answers as Meta does: an unknown object).
func MediaMime(id string) string {
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return ""
	}
	switch d, _ := strconv.Atoi(id[len(id)-1:]); {
	case d <= 3:
		return MediaJPEG
	case d <= 5:
		return MediaPNG
	case d <= 7:
		return MediaOGG
	default:
		return MediaPDF
	}
}

// MediaContent is the file the fake serves for id: small, valid for its type and the
// same on every run, so that the hash a simulated webhook carries matches.
func MediaContent(id string) (mime string, data []byte) {
	mime = MediaMime(id)
	seed := sha256.Sum256([]byte(id))
	switch mime {
	case MediaJPEG, MediaPNG:
		img := image.NewRGBA(image.Rect(0, 0, 48, 32))
		for y := range 32 {
			for x := range 48 {
				img.Set(x, y, color.RGBA{seed[0] + uint8(x*3), seed[1] + uint8(y*5), seed[2], 255})
			}
		}
		var b bytes.Buffer
		if mime == MediaPNG {
			_ = png.Encode(&b, img)
		} else {
			_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
		}
		return mime, b.Bytes()
	case MediaOGG:
		return mime, oggish(seed[:])
	case MediaPDF:
		return mime, pdf("Documento " + id)
	}
	return "", nil
}

// MediaSHA256 is the hash as Meta writes it in webhooks and media answers (base64).
func MediaSHA256(data []byte) string {
	s := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(s[:])
}

// oggish is an Ogg page carrying an OpusHead packet followed by noise: enough for
// "is this a voice note" checks, not a playable recording.
func oggish(seed []byte) []byte {
	var b bytes.Buffer
	head := append([]byte("OpusHead"), 1, 1, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0)
	b.WriteString("OggS")
	b.WriteByte(0)           // version
	b.WriteByte(2)           // beginning of stream
	b.Write(make([]byte, 8)) // granule position
	_ = binary.Write(&b, binary.LittleEndian, binary.LittleEndian.Uint32(seed[:4]))
	b.Write(make([]byte, 8)) // page sequence and CRC (not computed)
	b.WriteByte(1)
	b.WriteByte(byte(len(head)))
	b.Write(head)
	for i := range 2048 {
		b.WriteByte(seed[i%len(seed)] ^ byte(i))
	}
	return b.Bytes()
}

// pdf is a minimal one-page PDF showing text, with a correct cross-reference table.
func pdf(text string) []byte {
	content := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET", strings.NewReplacer(`(`, `\(`, `)`, `\)`, `\`, `\\`).Replace(text))
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
