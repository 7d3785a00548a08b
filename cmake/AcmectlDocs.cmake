# Man pages and shell completions, generated at build time by the acmectl just built from
# its own command-line definition (`acmectl __man 1|5`, `acmectl completion SHELL`), so
# they cannot drift from --help; installed by `cmake --install`.
set(ACMECTL_DOCS_DIR ${CMAKE_BINARY_DIR}/docs-generated)
file(MAKE_DIRECTORY ${ACMECTL_DOCS_DIR})  # the working directory of the command below
set(ACMECTL_DOCS_OUTPUTS
    ${ACMECTL_DOCS_DIR}/acmectl.1 ${ACMECTL_DOCS_DIR}/acmectl.toml.5
    ${ACMECTL_DOCS_DIR}/acmectl.1.gz ${ACMECTL_DOCS_DIR}/acmectl.toml.5.gz
    ${ACMECTL_DOCS_DIR}/acmectl.bash ${ACMECTL_DOCS_DIR}/_acmectl ${ACMECTL_DOCS_DIR}/acmectl.fish)
add_custom_command(
  OUTPUT ${ACMECTL_DOCS_OUTPUTS}
  COMMAND sh -c "\"$1\" __man 1 >acmectl.1 && \"$1\" __man 5 >acmectl.toml.5 && gzip -9nf -k acmectl.1 acmectl.toml.5 && \"$1\" completion bash >acmectl.bash && \"$1\" completion zsh >_acmectl && \"$1\" completion fish >acmectl.fish"
          sh $<TARGET_FILE:acmectl>
  WORKING_DIRECTORY ${ACMECTL_DOCS_DIR}
  DEPENDS acmectl
  COMMENT "Generating the man pages and shell completions"
  VERBATIM)
add_custom_target(acmectl_docs ALL DEPENDS ${ACMECTL_DOCS_OUTPUTS})

# Installed gzip'ed (-n: no name or time stamp, so the package is reproducible), as
# Debian's policy wants and man-db reads.
install(FILES ${ACMECTL_DOCS_DIR}/acmectl.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${ACMECTL_DOCS_DIR}/acmectl.toml.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${ACMECTL_DOCS_DIR}/acmectl.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME acmectl)
install(FILES ${ACMECTL_DOCS_DIR}/_acmectl DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${ACMECTL_DOCS_DIR}/acmectl.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
