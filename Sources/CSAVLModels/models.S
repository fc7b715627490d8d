// The model files of Models/, assembled into the binary so an installed savl needs no data files.
// The assembler finds them through the target's header search path (Package.swift).
    .section .rodata.savl_models, "a"
    .balign 64
    .global savl_model_default_start
savl_model_default_start:
    .incbin "savl-small-x4-v3.safetensors"
    .global savl_model_default_end
savl_model_default_end:
    .byte 0

    .section .note.GNU-stack, "", @progbits
