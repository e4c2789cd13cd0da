"""Errors that name their cause and the fix."""


class DeployProofError(Exception):
    """Base error: `cause` says what went wrong, `fix` what to do about it."""

    def __init__(self, cause: str, fix: str = "") -> None:
        self.cause = cause
        self.fix = fix
        super().__init__(f"{cause}\n  fix: {fix}" if fix else cause)


class PrerequisiteError(DeployProofError):
    """A tool, permission or kernel feature the operation needs is missing."""


class CommandError(DeployProofError):
    """A subprocess failed; carries the command, exit code and stderr tail."""

    def __init__(self, cmd: list[str], returncode: int, stderr_tail: str, fix: str = "", output: str = "") -> None:
        self.cmd = cmd
        self.returncode = returncode
        self.stderr_tail = stderr_tail
        self.output = output  # what the command printed before it timed out (a timeout only)
        shown = " ".join(cmd)
        if len(shown) > 300:
            shown = shown[:300] + " …"
        super().__init__(f"command failed (exit {returncode}): {shown}\n{stderr_tail}", fix)


class WaitTimeout(DeployProofError, TimeoutError):
    """A wait ran past its deadline; says what it waited for and what it saw last."""


class UsageError(DeployProofError):
    """An option or setting has a value that cannot work (exit code 2); nothing was started."""


class DeploymentError(DeployProofError):
    """The release could not be installed or did not become Ready (exit code 1)."""


class RegistryError(DeployProofError):
    """The image registry (--image-registry) could not take or serve the images; names the registry and the fix."""


class RegistryUnreachable(RegistryError):
    """Nothing answers at the registry's address (connection refused, no such host, no route)."""


class RegistryRefused(RegistryError):
    """The registry answered but refused the credentials (401/403)."""


class RegistryTLSError(RegistryError):
    """The registry's certificate is not trusted (unknown CA, wrong name)."""
