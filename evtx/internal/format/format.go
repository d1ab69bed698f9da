// Package format is the one definition of the EVTX on-disk constants: sizes,
// signatures, header field offsets, BinXml tokens and value types. The
// decoder (evtx), the writer (evtx/writer), the watcher (evtx/watch) and
// format detection (evtx/source) all read them from here, so they cannot
// disagree about the layout of a file.
//
// Reference: Joachim Metz, "Windows XML Event Log (EVTX) format" (libyal
// libevtx documentation),
// https://github.com/libyal/libevtx/blob/main/documentation/Windows%20XML%20Event%20Log%20(EVTX).asciidoc
// which itself follows Microsoft's [MS-EVEN6] BinXml sections (2.2.12
// tokens, 2.2.18 value types).
//
// Everything here is an untyped constant: using one costs nothing at run
// time, and it takes the type of the code around it (byte in the decoder,
// writer.ValueType in the writer).
package format

// File layout: a file header block, then fixed-size chunks, each a chunk
// header followed by event records. Windows always writes whole chunks, so
// the size of an intact file is FileHeaderSize plus a multiple of ChunkSize.
const (
	FileHeaderSize   = 4096  // the header block; chunks start here
	ChunkSize        = 65536 // every chunk, used or not
	ChunkHeaderSize  = 512   // records start at this chunk offset
	RecordHeaderSize = 24    // signature, size, record id, write time; BinXml follows
)

// Signatures. Strings, so that a comparison string(b[:8]) == FileMagic
// compiles to a plain compare without allocating.
const (
	FileMagic   = "ElfFile\x00"
	ChunkMagic  = "ElfChnk\x00"
	RecordMagic = "\x2a\x2a\x00\x00"
)

// File header fields (offsets from the start of the file).
const (
	FileFirstChunk   = 8   // uint64
	FileLastChunk    = 16  // uint64
	FileNextRecordID = 24  // uint64
	FileHeaderUsed   = 32  // uint32: size of the meaningful part, HeaderUsed
	FileMinorVersion = 36  // uint16
	FileMajorVersion = 38  // uint16
	FileBlockSize    = 40  // uint16: FileHeaderSize, where the chunks start
	FileChunkCount   = 42  // uint16: chunks in use
	FileFlags        = 120 // uint32: dirty, full; the checksum covers the bytes before it
	FileChecksum     = 124 // uint32: CRC-32 of the first FileFlags bytes
)

// Chunk header fields (offsets from the start of the chunk). The chunk
// checksum covers the bytes before ChunkFlags and those from ChunkStrings
// to ChunkHeaderSize.
const (
	ChunkFirstRecordNumber = 8   // uint64
	ChunkLastRecordNumber  = 16  // uint64
	ChunkFirstRecordID     = 24  // uint64
	ChunkLastRecordID      = 32  // uint64
	ChunkHeaderUsed        = 40  // uint32: HeaderUsed
	ChunkLastRecord        = 44  // uint32: chunk offset of the last record
	ChunkFreeSpace         = 48  // uint32: chunk offset of the first free byte
	ChunkRecordsChecksum   = 52  // uint32: CRC-32 of the records, ChunkHeaderSize to free space
	ChunkFlags             = 120 // uint32
	ChunkChecksum          = 124 // uint32
	ChunkStrings           = 128 // 64 uint32 heads of the common-string hash chains
	ChunkTemplates         = 384 // 32 uint32 heads of the template hash chains
)

// HeaderUsed is the value of FileHeaderUsed and ChunkHeaderUsed: both
// headers carry 128 meaningful bytes.
const HeaderUsed = 128

// Record fields (offsets from the record's signature).
const (
	RecordSize      = 4  // uint32, repeated in the record's last 4 bytes
	RecordID        = 8  // uint64
	RecordWriteTime = 16 // uint64 FILETIME
)

// BinXml tokens ([MS-EVEN6] 2.2.12). MoreFlag set on an open-start token
// means an attribute list follows; on an attribute or value token, that
// another one follows. Readers mask it off before comparing.
const (
	TokEOF            = 0x00
	TokOpenStart      = 0x01
	TokCloseStart     = 0x02
	TokCloseEmpty     = 0x03
	TokEndElement     = 0x04
	TokValue          = 0x05
	TokAttribute      = 0x06
	TokCDATA          = 0x07
	TokCharRef        = 0x08
	TokEntityRef      = 0x09
	TokPITarget       = 0x0a
	TokPIData         = 0x0b
	TokTemplate       = 0x0c
	TokNormalSub      = 0x0d
	TokOptionalSub    = 0x0e
	TokFragmentHeader = 0x0f
	MoreFlag          = 0x40
)

// NoDependency is the dependency identifier of an element that does not
// depend on a substitution being present.
const NoDependency = 0xffff

// BinXml value types ([MS-EVEN6] 2.2.18), as found in substitution
// descriptors and value tokens. TypeArray is a flag on a base type.
const (
	TypeNull       = 0x00
	TypeString     = 0x01 // UTF-16
	TypeAnsiString = 0x02
	TypeInt8       = 0x03
	TypeUint8      = 0x04
	TypeInt16      = 0x05
	TypeUint16     = 0x06
	TypeInt32      = 0x07
	TypeUint32     = 0x08
	TypeInt64      = 0x09
	TypeUint64     = 0x0a
	TypeReal32     = 0x0b
	TypeReal64     = 0x0c
	TypeBool       = 0x0d // 32-bit
	TypeBinary     = 0x0e
	TypeGUID       = 0x0f
	TypeSizeT      = 0x10
	TypeFileTime   = 0x11
	TypeSysTime    = 0x12
	TypeSID        = 0x13
	TypeHex32      = 0x14
	TypeHex64      = 0x15
	TypeHandle     = 0x20
	TypeBinXml     = 0x21
	TypeEvtXml     = 0x23
	TypeArray      = 0x80
)
