import ArgumentParser
import VigilCLI

@main
enum VigilctlMain {
    static func main() async {
        await VigilCtl.main()
    }
}
