/* bcryptprimitives.dll for Wine 8 (scripts/test-windows.sh builds it with
   mingw-w64 and copies it into the Wine prefix's system32).

   Go 1.24 and later resolve bcryptprimitives!ProcessPrng when a Windows
   program starts, for crypto/rand and the runtime's own randomness; Wine 8
   (Debian 12) ships no such DLL, so every Go program dies at once with
   "bcryptprimitives.dll not found". This one exports ProcessPrng alone and
   takes the bytes from advapi32!SystemFunction036 (RtlGenRandom), which
   Wine fills from the host's random source. Real Windows has its own DLL;
   this file is never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID RandomBuffer, ULONG RandomBufferLength);

BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
    /* RtlGenRandom takes a ULONG length; Go asks for small buffers, but a
       SIZE_T may exceed it, so fill in chunks. */
    while (cbData > 0) {
        ULONG n = cbData > 0x10000000 ? 0x10000000 : (ULONG)cbData;
        if (!SystemFunction036(pbData, n))
            return FALSE;
        pbData += n;
        cbData -= n;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)inst;
    (void)reason;
    (void)reserved;
    return TRUE;
}
