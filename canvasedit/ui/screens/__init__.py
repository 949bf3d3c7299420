"""Screens and dialogs: the editor, help, settings, confirm (``ModalScreen[bool]``) and path input."""
