from clientela.cli import main

main()
