; Inno Setup 6 script: RentDesk's Windows installer, from the PyInstaller bundle in dist\rentdesk.
; Build on Windows (see docs/install.md, "Windows"):  build\windows\build.ps1
; or by hand:  ISCC.exe /DAppVersion=0.1.0 build\windows\rentdesk.iss
; The window is Windows' own web view (Edge WebView2, no Qt): the installer says when its runtime is missing.
; It installs per user by default (no administrator needed), adds a Start-menu entry for the app
; and one for the demo, and leaves the data folder (%LOCALAPPDATA%\RentDesk) alone on uninstall:
; the encrypted store holds work that may not be synced yet.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6C1B0E52-3F0A-4C8B-9B7E-2E4B7A1D5F30}
AppName=RentDesk
AppVersion={#AppVersion}
AppPublisher=RentDesk
AppComments=Rent PBX licenses on prepaid service credits (iSC), offline on site
DefaultDirName={autopf}\RentDesk
DefaultGroupName=RentDesk
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=rentdesk-{#AppVersion}-setup
SetupIconFile=build\icons\rentdesk.ico
UninstallDisplayIcon={app}\rentdesk.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "fr"; MessagesFile: "compiler:Languages\French.isl"

[CustomMessages]
en.DemoShortcut=RentDesk demo
fr.DemoShortcut=Démo RentDesk
en.StartNow=Start RentDesk
fr.StartNow=Démarrer RentDesk
en.NoWebView2=RentDesk's window is Windows' own web view, Microsoft Edge WebView2, which is not installed here. Until you install Microsoft's "Evergreen WebView2 Runtime" (https://developer.microsoft.com/microsoft-edge/webview2/), RentDesk opens in your default web browser instead.
fr.NoWebView2=La fenêtre de RentDesk est le moteur web de Windows, Microsoft Edge WebView2, qui n'est pas installé ici. Tant que vous n'aurez pas installé « Evergreen WebView2 Runtime » de Microsoft (https://developer.microsoft.com/microsoft-edge/webview2/), RentDesk s'ouvrira dans votre navigateur web par défaut.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "dist\rentdesk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\RentDesk"; Filename: "{app}\rentdesk.exe"; IconFilename: "{app}\rentdesk.exe"
Name: "{group}\{cm:DemoShortcut}"; Filename: "{app}\rentdesk.exe"; Parameters: "demo"; IconFilename: "{app}\rentdesk.exe"
Name: "{autodesktop}\RentDesk"; Filename: "{app}\rentdesk.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\rentdesk.exe"; Description: "{cm:StartNow}"; Flags: nowait postinstall skipifsilent

[Code]
{ The window is Edge WebView2 (DESIGN §6): pywebview reads the same registry keys (stable runtime). }
const
  WebView2Key = 'Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}';

function HasVersion(RootKey: Integer; SubKey: String): Boolean;
var
  Version: String;
begin
  Result := False;
  if RegQueryStringValue(RootKey, SubKey, 'pv', Version) then
    Result := (Version <> '') and (Version <> '0.0.0.0');
end;

function WebView2Installed(): Boolean;
begin
  Result := HasVersion(HKLM, 'SOFTWARE\WOW6432Node\' + WebView2Key)
    or HasVersion(HKLM, 'SOFTWARE\' + WebView2Key)
    or HasVersion(HKCU, 'Software\' + WebView2Key);
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if (CurStep = ssPostInstall) and (not WizardSilent()) and (not WebView2Installed()) then
    MsgBox(CustomMessage('NoWebView2'), mbInformation, MB_OK);
end;
