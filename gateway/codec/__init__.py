"""The wire codec: pure, streaming, and free of aiohttp.

media           media types and their DICOMweb parameters (boundary, type, transfer-syntax)
headers         a MIME part's header block
multipart       iter_parts (streaming reader) and MultipartWriter (framing only)
part10_stream   one Part 10 instance split into header, pixel value and trailer
part10_walk     the sans-I/O element walk both Part 10 entry points drive
transfer_syntax data set layout per transfer syntax
byte_source     exact reads and zero-copy pass-through over async chunks
side            which side sent the bytes, and so which error a fault earns
"""
