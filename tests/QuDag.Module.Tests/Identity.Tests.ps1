# Identity files: created owner-only, loaded back, clear errors for bad or exposed ones.
BeforeAll { . $PSScriptRoot/Common.ps1 }

Describe 'Identity files' {
    AfterEach { Clear-TestSessions }

    It 'creates an owner-only file that loads back as the same peer' {
        $path = Join-Path $TestDrive 'node.pfx'
        $created = (New-QuDagSession -IdentityPath $path).PeerId
        if (-not $IsWindows) { [IO.File]::GetUnixFileMode($path) | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') }
        (New-QuDagSession -IdentityPath $path).PeerId | Should -Be $created
    }

    It 'stops with InvalidIdentityFile for a <problem> file, naming the file and no raw .NET text' -ForEach @(
        @{ problem = 'corrupt' }, @{ problem = 'wrong password' }, @{ problem = 'empty' }
    ) {
        $path = Join-Path $TestDrive "node-$($problem -replace ' ').pfx"
        switch ($problem) {
            'corrupt' { [IO.File]::WriteAllBytes($path, [byte[]](0x30, 0x82, 0x01)); [IO.File]::SetUnixFileMode($path, 'UserRead, UserWrite') }
            'empty' { [IO.File]::WriteAllBytes($path, [byte[]]@()); [IO.File]::SetUnixFileMode($path, 'UserRead, UserWrite') }
            default { $null = New-QuDagSession -IdentityPath $path -IdentityPassword ([Net.NetworkCredential]::new('', 'right').SecurePassword) }
        }
        $e = $null
        try { New-QuDagSession -IdentityPath $path -IdentityPassword ([securestring]::new()) } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -Be 'NewQuDagSessionInvalidIdentityFile,QuDag.PowerShell.Commands.NewQuDagSessionCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.TargetObject | Should -Be $path
        "$e" | Should -BeLike "Cannot use the identity file '$path': *"
        if ($problem -eq 'empty') { "$e" | Should -BeLike '*the file is empty*' }
        "$e" | Should -Not -BeLike "*(Parameter '*"
    }

    It 'refuses a key file group or others can read, with the fix in the message, unless -Force' -Skip:$IsWindows {
        $path = Join-Path $TestDrive 'shared.pfx'
        $id = (New-QuDagSession -IdentityPath $path).PeerId
        [IO.File]::SetUnixFileMode($path, 'UserRead, UserWrite, GroupRead, OtherRead')
        $e = $null
        try { New-QuDagSession -IdentityPath $path } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -BeLike 'NewQuDagSessionIdentityFilePermissions,*'
        $e.CategoryInfo.Category | Should -Be 'PermissionDenied'
        "$e" | Should -BeLike "*chmod 600 '$path'*"
        { Set-QuDagSession -IdentityPath $path -Confirm:$false } | Should -Throw -ErrorId 'SetQuDagSessionIdentityFilePermissions,*'
        (New-QuDagSession -IdentityPath $path -Force).PeerId | Should -Be $id
    }
}
