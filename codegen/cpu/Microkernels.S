/* The microkernel bitcode (runtime/native/CMakeLists.txt) inside qcc, for
 * Microkernels.cpp to link into every compiled module. */
  .section .rodata
  .balign 16
  .globl qcc_microkernels_bc
qcc_microkernels_bc:
  .incbin QCC_MICROKERNELS_BC
  .globl qcc_microkernels_bc_end
qcc_microkernels_bc_end:
  .section .note.GNU-stack,"",@progbits
