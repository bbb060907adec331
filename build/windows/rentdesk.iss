; Inno Setup 6 script: RentDesk's Windows installer, from the PyInstaller bundle in dist\rentdesk.
; Build on Windows (see docs/install.md, "Windows"):  build\windows\build.ps1
; or by hand:  ISCC.exe /DAppVersion=0.1.0 build\windows\rentdesk.iss
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
