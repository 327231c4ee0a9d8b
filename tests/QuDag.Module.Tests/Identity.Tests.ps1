# Identity files: the libp2p protobuf private key (as rust-libp2p writes it), created owner-only, loaded back,
# clear errors for bad or exposed ones.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    # The libp2p PrivateKey protobuf: field 1 (KeyType varint), field 2 (Data bytes). Ed25519 is type 1 and its Data is
    # the 32-byte seed followed by the 32-byte public key.
    function ConvertTo-KeyProtobuf([int] $Type, [byte[]] $Data) {
        [byte[]] (@(0x08, $Type, 0x12, $Data.Length) + $Data)
    }
    function Write-OwnerOnly([string] $Path, [byte[]] $Bytes) {
        [IO.File]::WriteAllBytes($Path, $Bytes)
        if (-not $IsWindows) { [IO.File]::SetUnixFileMode($Path, 'UserRead, UserWrite') }
    }
}

Describe 'Identity files' {
    AfterEach { Clear-TestSessions }

    It 'creates an owner-only libp2p key file that loads back as the same peer' {
        $path = Join-Path $TestDrive 'node.key'
        $created = (New-QuDagSession -IdentityPath $path).PeerId
        $created | Should -BeLike '12D3KooW*'
        if (-not $IsWindows) { [IO.File]::GetUnixFileMode($path) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') }
        # What rust-libp2p's Keypair::to_protobuf_encoding writes: 08 01 12 40, then seed and public key.
        $bytes = [IO.File]::ReadAllBytes($path)
        $bytes.Length | Should -Be 68
        $bytes[0..3] | Should -Be @(0x08, 0x01, 0x12, 0x40)
        (New-QuDagSession -IdentityPath $path).PeerId | Should -Be $created
        (Get-Command New-QuDagSession).Parameters.Keys | Should -Not -Contain 'IdentityPassword'
        (Get-Command Set-QuDagSession).Parameters.Keys | Should -Not -Contain 'IdentityPassword'
    }

    It 'loads a key file written elsewhere: the same seed gives the same peer id' {
        $path = Join-Path $TestDrive 'node.key'
        $created = (New-QuDagSession -IdentityPath $path).PeerId
        $copy = Join-Path $TestDrive 'copy.key'
        Write-OwnerOnly $copy ([IO.File]::ReadAllBytes($path))
        (New-QuDagSession -IdentityPath $copy).PeerId | Should -Be $created
    }

    It 'stops with InvalidIdentityFile for a <problem> key file, naming the file and no raw .NET text' -ForEach @(
        @{ problem = 'corrupt'; says = '*not a libp2p Ed25519 private key*' }
        @{ problem = 'empty'; says = '*is empty*' }
        @{ problem = 'PKCS#12 (the old format)'; says = '*not a libp2p Ed25519 private key*' }
        @{ problem = 'RSA'; says = '*of type Rsa; a node key must be Ed25519*' }
        @{ problem = 'mismatched public half'; says = '*public half does not belong to its seed*' }
        @{ problem = 'truncated'; says = '*is 64 bytes (seed and public key), not 40*' }
        @{ problem = 'oversized'; says = '*is 8192 bytes; a libp2p Ed25519 key file is 68 bytes*' }
    ) {
        $path = Join-Path $TestDrive "node-$($problem -replace '\W').key"
        $good = Join-Path $TestDrive 'good.key'
        if (-not (Test-Path $good)) { $null = New-QuDagSession -IdentityPath $good }
        $goodBytes = [IO.File]::ReadAllBytes($good)
        $bytes = switch ($problem) {
            'corrupt' { [byte[]](0x08, 0x01, 0x12, 0x40, 0x01) }
            'empty' { , [byte[]]::new(0) }
            'PKCS#12 (the old format)' { [byte[]](0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x03, 0x30) }
            'RSA' { ConvertTo-KeyProtobuf 0 ([byte[]]::new(64)) }
            'mismatched public half' { $data = $goodBytes[4..67]; $data[40] = $data[40] -bxor 1; ConvertTo-KeyProtobuf 1 $data }
            'truncated' { ConvertTo-KeyProtobuf 1 $goodBytes[4..43] }
            'oversized' { [byte[]]::new(8192) }
        }
        Write-OwnerOnly $path $bytes
        $e = $null
        try { New-QuDagSession -IdentityPath $path } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -Be 'NewQuDagSessionInvalidIdentityFile,QuDag.PowerShell.Commands.NewQuDagSessionCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.TargetObject | Should -Be $path
        "$e" | Should -BeLike "Cannot use the identity file '$path': *"
        "$e" | Should -BeLike $says
        "$e" | Should -Not -BeLike "*(Parameter '*"
        { Set-QuDagSession -IdentityPath $path -Confirm:$false } | Should -Throw -ErrorId 'SetQuDagSessionInvalidIdentityFile,*'
        # A bad file is never overwritten: the user decides whether to restore it or start a new identity.
        [IO.File]::ReadAllBytes($path).Length | Should -Be $bytes.Length
    }

    It 'stops with ObjectNotFound naming the folder when the key file''s folder does not exist' {
        $folder = Join-Path $TestDrive 'no/such/folder'
        $path = Join-Path $folder 'node.key'
        $e = $null
        try { New-QuDagSession -IdentityPath $path } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -Be 'NewQuDagSessionIdentityFolderNotFound,QuDag.PowerShell.Commands.NewQuDagSessionCommand'
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e.TargetObject | Should -Be $folder
        "$e" | Should -BeLike "*the folder '$folder' does not exist*"
        "$e" | Should -Not -BeLike '*.tmp*'
        { Set-QuDagSession -IdentityPath $path -Confirm:$false } | Should -Throw -ErrorId 'SetQuDagSessionIdentityFolderNotFound,*'
        Test-Path $folder | Should -BeFalse -Because 'a folder is never created behind the user''s back'
    }

    It 'refuses a key file group or others can read, with the fix in the message, unless -Force' -Skip:$IsWindows {
        $path = Join-Path $TestDrive 'shared.key'
        $id = (New-QuDagSession -IdentityPath $path).PeerId
        [IO.File]::SetUnixFileMode($path, 'UserRead, UserWrite, GroupRead, OtherRead')
        $e = $null
        try { New-QuDagSession -IdentityPath $path } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike 'NewQuDagSessionIdentityFilePermissions,*'
        $e.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $e.TargetObject | Should -Be $path
        "$e" | Should -BeLike "*(mode 644)*"
        "$e" | Should -BeLike "*chmod 600 $path*"
        "$e" | Should -BeLike '*pass -Force*'
        { Set-QuDagSession -IdentityPath $path -Confirm:$false } | Should -Throw -ErrorId 'SetQuDagSessionIdentityFilePermissions,*'
        (New-QuDagSession -IdentityPath $path -Force).PeerId | Should -Be $id
        # Group-readable alone is refused too.
        [IO.File]::SetUnixFileMode($path, 'UserRead, UserWrite, GroupRead')
        { New-QuDagSession -IdentityPath $path } | Should -Throw -ErrorId 'NewQuDagSessionIdentityFilePermissions,*'
    }
}
